// SQLite engine: opening the database file, pragmas and schema.
//
// Durability reasoning (kill -9 of the process must lose nothing acknowledged):
// - journal_mode=WAL + synchronous=NORMAL. A commit appends the transaction's frames, including
//   the commit frame, to the -wal file with write(2) before COMMIT returns; NORMAL only skips the
//   fsync at commit (WAL is still fsynced at each checkpoint). After write(2) returns the bytes
//   are in the kernel's page cache, which belongs to the OS, not to the process: when the process
//   is killed (SIGKILL, OOM, crash) the kernel still writes them back, and the next open replays
//   the WAL. So every transaction whose COMMIT returned survives the death of the process, and
//   we resolve a write's promise only after COMMIT returned. test/store-durability.test.ts checks
//   this with SIGKILL.
// - What NORMAL does not cover is power loss or a kernel crash: the last transactions since the
//   previous checkpoint may be lost (the database stays consistent). `synchronous: 'full'` fsyncs
//   the WAL on every commit (one fsync per group commit, not per write) for that case.
// - locking_mode=EXCLUSIVE, set before the first access: the process holds the file lock for its
//   lifetime, so a second kitsune process on the same data directory fails at open instead of
//   interleaving writes, and the WAL index lives in heap memory (no -shm file). The kernel drops
//   the lock when the process dies, so a restart after kill -9 opens normally.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const DB_FILE = 'kitsune.db';
const SCHEMA_VERSION = 1;

export interface SqliteOpenOptions {
  dataDir: string;
  /** 'normal' (default): survives process crashes. 'full': also survives power loss. */
  synchronous?: 'normal' | 'full';
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  k TEXT PRIMARY KEY,
  v INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (k, v) VALUES ('rev', 0);

CREATE TABLE IF NOT EXISTS retained (
  realm TEXT NOT NULL,
  key TEXT NOT NULL,
  value BLOB NOT NULL,
  version INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  expires_at INTEGER,
  owner TEXT,
  will BLOB,
  has_will INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (realm, key)
);
CREATE INDEX IF NOT EXISTS retained_wills ON retained (realm, owner) WHERE has_will = 1 AND owner IS NOT NULL;
CREATE INDEX IF NOT EXISTS retained_expiry ON retained (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  realm TEXT NOT NULL,
  topic TEXT NOT NULL,
  ts INTEGER NOT NULL,
  value BLOB NOT NULL,
  headers BLOB
);
CREATE INDEX IF NOT EXISTS history_realm ON history (realm, id);
CREATE INDEX IF NOT EXISTS history_topic ON history (realm, topic, id);

CREATE TABLE IF NOT EXISTS queues (
  realm TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  timeout_ms INTEGER NOT NULL,
  locked INTEGER NOT NULL DEFAULT 0,
  max INTEGER NOT NULL DEFAULT 0,
  ready0 INTEGER NOT NULL DEFAULT 0,
  ready1 INTEGER NOT NULL DEFAULT 0,
  ready2 INTEGER NOT NULL DEFAULT 0,
  unacked INTEGER NOT NULL DEFAULT 0,
  si INTEGER NOT NULL DEFAULT 0,
  ci INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (realm, name)
);
CREATE TABLE IF NOT EXISTS queue_items (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  realm TEXT NOT NULL,
  queue TEXT NOT NULL,
  priority INTEGER NOT NULL,
  value BLOB NOT NULL,
  delivered_at INTEGER
);
CREATE INDEX IF NOT EXISTS queue_ready ON queue_items (realm, queue, priority DESC, id) WHERE delivered_at IS NULL;
CREATE INDEX IF NOT EXISTS queue_unacked ON queue_items (realm, queue, delivered_at, id) WHERE delivered_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS queue_workers (
  realm TEXT NOT NULL,
  queue TEXT NOT NULL,
  name TEXT NOT NULL,
  seen_at INTEGER NOT NULL,
  PRIMARY KEY (realm, queue, name)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS mqtt_sessions (
  realm TEXT NOT NULL,
  client_id TEXT NOT NULL,
  state BLOB NOT NULL,
  PRIMARY KEY (realm, client_id)
);
CREATE TABLE IF NOT EXISTS mqtt_queue (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  realm TEXT NOT NULL,
  client_id TEXT NOT NULL,
  value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS mqtt_queue_client ON mqtt_queue (realm, client_id, id);
-- rowid order = order of first put (an upsert keeps the rowid)
CREATE TABLE IF NOT EXISTS mqtt_inflight (
  realm TEXT NOT NULL,
  client_id TEXT NOT NULL,
  packet_id INTEGER NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY (realm, client_id, packet_id)
);

CREATE TABLE IF NOT EXISTS replies (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  realm TEXT NOT NULL,
  key TEXT NOT NULL,
  value BLOB NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS replies_key ON replies (realm, key, id);
CREATE INDEX IF NOT EXISTS replies_expiry ON replies (expires_at);
`;

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

/** Opens (creating if needed) the database in `dataDir`. Errors name the path and the cause. */
export function openDatabase(options: SqliteOpenOptions): Database.Database {
  const dir = options.dataDir;
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new Error(`cannot create data directory ${dir}: ${describe(err)}`, { cause: err });
  }
  const file = join(dir, DB_FILE);
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: 2000 });
    db.pragma('locking_mode = EXCLUSIVE');
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (String(mode).toLowerCase() !== 'wal') throw new Error(`cannot switch to WAL journal mode (got ${String(mode)})`);
    db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('journal_size_limit = 67108864');
    const version = Number(db.pragma('user_version', { simple: true }));
    if (version > SCHEMA_VERSION) throw new Error(`schema version ${version} is newer than this kitsune (${SCHEMA_VERSION})`);
    db.transaction(() => {
      db!.exec(SCHEMA);
      db!.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
    return db;
  } catch (err) {
    try {
      db?.close();
    } catch {
      // already failing
    }
    throw new Error(`cannot open store at ${file}: ${describe(err)}`, { cause: err });
  }
}
