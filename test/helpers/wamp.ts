// Real WAMP clients for tests: autobahn (WebSocket with json/msgpack/cbor, RawSocket with json).
import type { ExecutionContext } from 'ava';
import autobahn from 'autobahn';

export type SerializerName = 'json' | 'msgpack' | 'cbor';

export interface AutobahnOptions {
  serializer?: SerializerName;
  rawsocket?: boolean;
  realm?: string;
  authid?: string;
  authmethods?: string[];
  onchallenge?: (session: autobahn.Session, method: string, extra: unknown) => string;
}

// @types/autobahn does not declare the serializer classes autobahn 22 ships.
type SerializerCtor = new () => object;
const serializers = (autobahn as unknown as { serializer: Record<string, SerializerCtor> }).serializer;

function serializerOf(name: SerializerName): object {
  const ctor = { json: serializers.JSONSerializer, msgpack: serializers.MsgpackSerializer, cbor: serializers.CBORSerializer }[name];
  return new (ctor as SerializerCtor)();
}

/** Opens an autobahn session; closes it at teardown. Rejects with the close reason if refused. */
export function connectAutobahn(t: ExecutionContext, urls: Record<string, string>, opts: AutobahnOptions = {}): Promise<autobahn.Session> {
  const serializer = opts.serializer ?? 'json';
  const transports: unknown[] = opts.rawsocket
    ? [{ type: 'rawsocket', host: new URL(urls.rawsocket as string).hostname, port: Number(new URL(urls.rawsocket as string).port) }]
    : [{ type: 'websocket', url: urls.wamp, serializers: [serializerOf(serializer)] }];
  const connection = new autobahn.Connection({
    transports,
    realm: opts.realm ?? 'realm1',
    max_retries: 0,
    authid: opts.authid,
    authmethods: opts.authmethods,
    onchallenge: opts.onchallenge,
  } as unknown as autobahn.IConnectionOptions);
  return new Promise((resolve, reject) => {
    let opened = false;
    connection.onopen = (session) => {
      opened = true;
      t.teardown(() => {
        if (connection.isOpen) connection.close();
      });
      resolve(session);
    };
    connection.onclose = (reason, details) => {
      if (!opened) reject(Object.assign(new Error(`connection closed: ${reason} ${JSON.stringify(details)}`), { reason, details }));
      return true;
    };
    connection.open();
  });
}
