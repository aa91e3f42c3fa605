// Hashed tickets (scrypt and PBKDF2, as `kitsune passwd` writes them) log in over WAMP-Ticket and
// as MQTT passwords; the check runs off the event loop, and what a client sends meanwhile is held
// (MQTT) or refused as out of order (WAMP).
import test, { type ExecutionContext } from 'ava';
import type { IConnackPacket, ISubackPacket } from 'mqtt-packet';
import { hashSecret } from '../../lib/core/auth/secret.ts';
import { type RealmConfig, openRealm } from '../../lib/core/config.ts';
import { openAutobahn } from '../helpers/autobahn.ts';
import { connect, connectRaw, RawClient } from '../helpers/mqtt-harness.ts';
import { RawWamp, T } from '../helpers/raw-wamp.ts';
import { startTestServer } from '../helpers/server.ts';

const secrets = (async () => ({
  scrypt: await hashSecret('alice pw', { ln: 12 }),
  pbkdf2: await hashSecret('bob pw', { algorithm: 'pbkdf2-sha256', iterations: 20_000 }),
}))();

async function server(t: ExecutionContext) {
  const { scrypt, pbkdf2 } = await secrets;
  const realm: RealmConfig = {
    name: 'hashed',
    roles: [{ name: 'user', permissions: [{ uri: 'app.', match: 'prefix', allow: { publish: true, subscribe: true } }] }],
    auth: { ticket: { alice: { ticket: scrypt, role: 'user' }, bob: { ticket: pbkdf2, role: 'user' }, carol: { ticket: 'plain pw', role: 'user' } } },
  };
  return startTestServer(t, { realms: [openRealm('realm1'), realm] }, { mqttPort: 0 });
}

const ticket = (t: ExecutionContext, urls: Record<string, string>, authid: string, secret: string) =>
  openAutobahn(t, urls, { realm: 'hashed', authid, authmethods: ['ticket'], onchallenge: () => secret });

const reason = (err: unknown): string | undefined => (err as { details?: { reason?: string } }).details?.reason;

test('WAMP-Ticket: hashed and plain tickets log in with the right password only', async (t) => {
  const s = await server(t);
  for (const [authid, pw] of [['alice', 'alice pw'], ['bob', 'bob pw'], ['carol', 'plain pw']] as const) {
    const { session } = await ticket(t, s.urls, authid, pw);
    t.like(s.router.realm('hashed').sessions.get(session.id)?.identity, { authid, authrole: 'user', authmethod: 'ticket' });
    const wrong = await t.throwsAsync(ticket(t, s.urls, authid, `${pw}!`));
    t.is(reason(wrong), 'wamp.error.authentication_failed');
  }
  // The stored hash itself is no password.
  const { scrypt } = await secrets;
  t.is(reason(await t.throwsAsync(ticket(t, s.urls, 'alice', scrypt))), 'wamp.error.authentication_failed');
  t.is(s.router.stats.authRefusals, 4);
});

test('WAMP: a message sent while the ticket is being checked ends the session as a protocol violation', async (t) => {
  const s = await server(t);
  const raw = await RawWamp.ws(t, s.urls.wamp as string);
  t.is((await raw.hello('hashed', { authid: 'alice', authmethods: ['ticket'] }))[0], T.CHALLENGE);
  raw.send([T.AUTHENTICATE, 'alice pw', {}]);
  raw.send([T.SUBSCRIBE, 1, {}, 'app.x']);
  const abort = await raw.nextOf(T.ABORT);
  t.is(abort[2], 'wamp.error.protocol_violation');
  t.regex((abort[1] as { message: string }).message, /before WELCOME/);
  await raw.closed;
  t.is(s.router.realm('hashed').sessions.size, 0, 'the late verdict attached nothing');
});

test('MQTT: a hashed password logs in (3.1.1 and 5.0); a wrong one gets 0x04 / 0x86', async (t) => {
  const s = await server(t);
  const url = s.urls.mqtt as string;
  for (const protocolVersion of [4, 5] as const) {
    const ok = await connect(url, { protocolVersion, username: 'alice@hashed', password: 'alice pw' });
    t.teardown(() => ok.end(true));
    t.true(ok.connected);
    const bob = await connect(url, { protocolVersion, username: 'bob@hashed', password: 'bob pw' });
    t.teardown(() => bob.end(true));
    const { client, connack } = connectRaw(url, { protocolVersion, username: 'alice@hashed', password: 'wrong' });
    t.teardown(() => client.end(true));
    const err = (await t.throwsAsync(connack)) as Error & { code?: number };
    t.is(err.code, protocolVersion === 5 ? 0x86 : 0x04);
  }
  const alices = [...s.router.realm('hashed').sessions.values()].filter((x) => x.authid === 'alice');
  t.is(alices.length, 2);
});

test('MQTT: packets sent right behind the CONNECT wait for the password check, then run in order', async (t) => {
  const s = await server(t);
  const port = Number(new URL(s.urls.mqtt as string).port);
  const raw = await RawClient.open(port, 4);
  t.teardown(() => raw.close());
  raw.send({ cmd: 'connect', protocolVersion: 4, protocolId: 'MQTT', clientId: 'pipelined', clean: true, keepalive: 0, username: 'alice@hashed', password: Buffer.from('alice pw') });
  raw.send({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'app/a', qos: 1 }] }, 4);
  t.is(((await raw.next('connack')) as IConnackPacket).returnCode, 0);
  t.deepEqual(((await raw.next('suback')) as ISubackPacket).granted, [1]);
});
