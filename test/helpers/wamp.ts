// Real WAMP clients for tests: autobahn (WebSocket with json/msgpack/cbor, RawSocket with json).
import type { ExecutionContext } from 'ava';
import type autobahn from 'autobahn';
import { openAutobahn } from './autobahn.ts';

export type SerializerName = 'json' | 'msgpack' | 'cbor';

export interface AutobahnOptions {
  serializer?: SerializerName;
  rawsocket?: boolean;
  realm?: string;
  authid?: string;
  authmethods?: string[];
  /** HELLO.Details.authextra (cryptosign: the public key). */
  authextra?: Record<string, unknown>;
  onchallenge?: (session: autobahn.Session, method: string, extra: unknown) => string;
}

/** Opens an autobahn session; closes it at teardown. Rejects with the close reason if refused. */
export async function connectAutobahn(t: ExecutionContext, urls: Record<string, string>, opts: AutobahnOptions = {}): Promise<autobahn.Session> {
  return (await openAutobahn(t, urls, opts)).session;
}
