// Builds the Store engine the configuration asks for. The server calls this and hands the result
// to the router; core only knows the Store interface (lib/core/store.ts).
import type { Store, StoreOptions } from '../core/store.ts';
import { MemoryStore } from './memory.ts';
import { SqliteStore } from './sqlite.ts';

export type OpenStoreOptions = StoreOptions &
  (
    | { memory: true }
    | {
        /** Directory for kitsune.db (created if missing). */
        dataDir: string;
        /** 'normal' (default) survives process crashes; 'full' also survives power loss. */
        synchronous?: 'normal' | 'full';
      }
  );

/** Rejects with an Error naming the path and the cause when the data directory is unusable. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if ('memory' in options && options.memory) return new MemoryStore(options);
  if (!('dataDir' in options) || typeof options.dataDir !== 'string' || options.dataDir === '') {
    throw new TypeError('openStore needs {memory: true} or {dataDir: string}');
  }
  return new SqliteStore(options);
}

export { MemoryStore, SqliteStore };
