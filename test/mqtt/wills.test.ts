// Wills around a client id connecting again, over raw sockets. A DISCONNECT 0x00 discards the
// will even when the client id connects again before the old socket has closed (MQTT-3.14.4-3);
// 0x04 still sends it. An MQTT 5 takeover that resumes the session does not publish the old
// connection's will, even with a Will Delay Interval of 0 (MQTT-3.1.3-9, MQTT-3.1.2-8): the
// session's end does (old session expiry 0, or the new connection starting clean). 3.1.1
// publishes it on a takeover, as its text says.
//
// Whether a will was published is read from a watcher subscribed to the will topic: a marker
// published after the new connection's CONNACK arrives after any will the takeover published.
import test, { type ExecutionContext } from 'ava';
import type { IConnackPacket, IConnectPacket, IDisconnectPacket } from 'mqtt-packet';
import { collect, connect, type Collector, RawClient, uniqueId, withBystander } from '../helpers/mqtt-harness.ts';

const fx = withBystander(test, { connectTimeoutMs: 2000 });

interface Watch {
  topic: string;
  got: Collector;
  /** Publishes `marker` on the topic and resolves with every payload seen up to it. */
  seenBefore(marker: string): Promise<string[]>;
  stop(): Promise<void>;
}

async function watchWills(): Promise<Watch> {
  const topic = `wills/${uniqueId()}`;
  const watcher = await connect(fx.k.url, { protocolVersion: 5 });
  const got = collect(watcher);
  await watcher.subscribeAsync(topic, { qos: 1 });
  return {
    topic,
    got,
    async seenBefore(marker) {
      await fx.bystander.publishAsync(topic, marker, { qos: 1 });
      while (!got.messages.some((m) => m.payload.toString() === marker)) await got.waitFor(got.messages.length + 1);
      return got.messages.map((m) => m.payload.toString());
    },
    stop: () => watcher.endAsync(),
  };
}

/** CONNECT fields of a client with a will on `topic` (payload "will", QoS 1). */
function withWill(topic: string, version: 4 | 5, clientId: string, clean: boolean, expiry = 0, willDelay = 0): Partial<IConnectPacket> {
  return {
    clientId,
    clean,
    will: { topic, payload: Buffer.from('will'), qos: 1, retain: false, ...(version === 5 ? { properties: { willDelayInterval: willDelay } } : {}) },
    ...(version === 5 ? { properties: { sessionExpiryInterval: expiry } } : {}),
  } as Partial<IConnectPacket>;
}

const DISCONNECT = (version: 4 | 5, reason = 0): number[] => (version === 5 ? [0xe0, 0x01, reason] : [0xe0, 0x00]);

/**
 * The client sends DISCONNECT `reason` and keeps its socket open; the same client id connects
 * again once the server has ended the old connection's side but before that socket has closed.
 */
async function disconnectThenReconnect(t: ExecutionContext, version: 4 | 5, reason: number, first: Partial<IConnectPacket>, again: Partial<IConnectPacket>): Promise<RawClient> {
  const old = await RawClient.connected(fx.k.port, version, first, true);
  old.write(DISCONNECT(version, reason));
  await old.waitEnded();
  t.false(old.isClosed, 'the old socket is still open when the client id connects again');
  const next = await RawClient.connected(fx.k.port, version, again);
  old.close();
  return next;
}

function endSession(clientId: string): void {
  fx.k.gate.sessions.get('realm1', clientId)?.end();
}

test('DISCONNECT 0x00, then the client id connects again before the old socket closed: the will is discarded (3.1.1 and 5.0, clean and persistent)', async (t) => {
  const cases: [version: 4 | 5, clean: boolean, expiry: number][] = [
    [4, true, 0],
    [4, false, 0],
    [5, true, 0],
    [5, false, 60],
  ];
  for (const [version, clean, expiry] of cases) {
    const w = await watchWills();
    const clientId = uniqueId('bye');
    const next = await disconnectThenReconnect(t, version, 0x00, withWill(w.topic, version, clientId, clean, expiry), { clientId, clean, ...(version === 5 ? { properties: { sessionExpiryInterval: expiry } } : {}) });
    t.deepEqual(await w.seenBefore('marker'), ['marker'], `v${version} clean ${clean}: no will`);
    next.close();
    endSession(clientId);
    await w.stop();
  }
});

test('v5 DISCONNECT 0x04, then the client id connects again before the old socket closed: the will is sent once', async (t) => {
  for (const expiry of [0, 60]) {
    const w = await watchWills();
    const clientId = uniqueId('bye4');
    const next = await disconnectThenReconnect(t, 5, 0x04, withWill(w.topic, 5, clientId, false, expiry), { clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
    t.deepEqual(await w.seenBefore('marker'), ['will', 'marker'], `old session expiry ${expiry}`);
    next.close();
    endSession(clientId);
    await w.stop();
  }
});

/** A v5 client with a will takes its client id over with `again`: the old connection gets DISCONNECT 0x8E. */
async function takeOver(t: ExecutionContext, version: 4 | 5, first: Partial<IConnectPacket>, again: Partial<IConnectPacket>): Promise<RawClient> {
  const old = await RawClient.connected(fx.k.port, version, first);
  const next = await RawClient.connected(fx.k.port, version, again);
  if (version === 5) t.is(((await old.next('disconnect')) as IDisconnectPacket).reasonCode, 0x8e);
  await old.waitClosed();
  return next;
}

test('v5 takeover resuming the session (Clean Start 0, not expired): the will (delay 0) is not published, and not at the session end later', async (t) => {
  const w = await watchWills();
  const clientId = uniqueId('resume');
  const next = await takeOver(t, 5, withWill(w.topic, 5, clientId, false, 60), { clientId, clean: false, properties: { sessionExpiryInterval: 60 } });
  t.true((next.packets[0] as IConnackPacket).sessionPresent, 'the session is resumed');
  t.deepEqual(await w.seenBefore('marker 1'), ['marker 1']);
  // the session ends (a clean start): the will was cancelled by the resumption, not merely delayed
  const clean = await RawClient.connected(fx.k.port, 5, { clientId, clean: true });
  t.is(((await next.next('disconnect')) as IDisconnectPacket).reasonCode, 0x8e);
  next.close();
  t.deepEqual(await w.seenBefore('marker 2'), ['marker 1', 'marker 2']);
  clean.close();
  await w.stop();
});

test('v5 takeover ending the old session publishes its will: Clean Start 1, or the old session expiry 0', async (t) => {
  const cases: [expiry: number, willDelay: number, clean: boolean][] = [
    [60, 0, true],
    [60, 30, true],
    [0, 0, false],
  ];
  for (const [expiry, willDelay, clean] of cases) {
    const w = await watchWills();
    const clientId = uniqueId('ends');
    const next = await takeOver(t, 5, withWill(w.topic, 5, clientId, false, expiry, willDelay), { clientId, clean, properties: { sessionExpiryInterval: 60 } });
    t.false((next.packets[0] as IConnackPacket).sessionPresent, 'a new session');
    t.deepEqual(await w.seenBefore('marker'), ['will', 'marker'], `old expiry ${expiry}, will delay ${willDelay}, clean start ${clean}`);
    next.close();
    endSession(clientId);
    await w.stop();
  }
});

test('3.1.1 takeover publishes the old connection’s will, also when the session is resumed', async (t) => {
  const w = await watchWills();
  const clientId = uniqueId('take4');
  const next = await takeOver(t, 4, withWill(w.topic, 4, clientId, false), { clientId, clean: false });
  t.true((next.packets[0] as IConnackPacket).sessionPresent);
  t.deepEqual(await w.seenBefore('marker'), ['will', 'marker']);
  next.close();
  endSession(clientId);
  await w.stop();
});
