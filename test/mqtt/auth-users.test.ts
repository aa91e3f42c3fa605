// MQTT user names are the realm's principals: an unknown one is refused unless the realm maps unknown
// users to anonymous. An anonymous client's authid comes from its client id but can never be a
// principal's name, and stays the same across reconnects (a persistent session resumes).
import test, { type ExecutionContext } from 'ava';
import type { MqttClient } from 'mqtt';
import { anonymousMqttAuthid } from '../../lib/core/auth/principals.ts';
import { type RealmConfig, openRealm } from '../../lib/core/config.ts';
import { connectAutobahn } from '../helpers/wamp.ts';
import { connect, connectRaw } from '../helpers/mqtt-harness.ts';
import { RawWamp, T } from '../helpers/raw-wamp.ts';
import { startTestServer } from '../helpers/server.ts';

const roles: RealmConfig['roles'] = [
  { name: 'guest', permissions: [{ uri: 'news.', match: 'prefix', allow: { publish: true, subscribe: true } }] },
  { name: 'user', permissions: [{ uri: '', match: 'prefix', allow: { publish: true, subscribe: true } }] },
];
const strict: RealmConfig = {
  name: 'strict',
  roles,
  auth: {
    anonymous: { role: 'guest' },
    ticket: { alice: { ticket: 'alice pw', role: 'user' } },
    cryptosign: { keyonly: { authorized_keys: ['ab'.repeat(32)], role: 'user' } },
  },
};
const lenient: RealmConfig = { ...strict, name: 'lenient', auth: { ...strict.auth, unknownUsers: 'anonymous' } };

async function server(t: ExecutionContext) {
  return startTestServer(t, { realms: [openRealm('realm1'), strict, lenient] }, { mqttPort: 0 });
}

async function refusal(t: ExecutionContext, url: string, options: Parameters<typeof connectRaw>[1]): Promise<number | undefined> {
  const { client, connack } = connectRaw(url, options);
  t.teardown(() => client.end(true));
  const err = (await t.throwsAsync(connack)) as Error & { code?: number };
  return err.code;
}

const identityOf = (s: Awaited<ReturnType<typeof server>>, realm: string, clientId: string) =>
  [...s.router.realm(realm).sessions.values()].find((x) => x.identity.transport.clientId === clientId)?.identity;

test('an unknown user name is refused, whatever the password: 3.1.1 CONNACK 0x05, 5.0 0x86', async (t) => {
  const s = await server(t);
  const url = s.urls.mqtt as string;
  t.is(await refusal(t, url, { protocolVersion: 4, username: 'mallory@strict', password: 'anything' }), 0x05);
  t.is(await refusal(t, url, { protocolVersion: 4, username: 'mallory@strict' }), 0x05);
  t.is(await refusal(t, url, { protocolVersion: 5, username: 'mallory@strict', password: 'anything' }), 0x86);
  // A principal without a password login (cryptosign only) is not a password user either.
  t.is(await refusal(t, url, { protocolVersion: 4, username: 'keyonly@strict', password: 'x' }), 0x05);
  t.is(await refusal(t, url, { protocolVersion: 5, username: 'keyonly@strict', password: 'x' }), 0x87);
  t.is(s.router.stats.authRefusals, 5);
  // No user name: anonymous, with the realm's anonymous role; the principal with its password.
  const anon = await connect(url, { protocolVersion: 4, username: '@strict', clientId: 'anon-1' });
  t.teardown(() => anon.end(true));
  t.like(identityOf(s, 'strict', 'anon-1'), { authid: anonymousMqttAuthid('anon-1'), authrole: 'guest', authmethod: 'anonymous' });
  const alice = await connect(url, { protocolVersion: 5, username: 'alice@strict', password: 'alice pw', clientId: 'alice-dev' });
  t.teardown(() => alice.end(true));
  t.like(identityOf(s, 'strict', 'alice-dev'), { authid: 'alice', authrole: 'user', authmethod: 'ticket' });
});

test('a realm that maps unknown users to anonymous admits them with the anonymous role', async (t) => {
  const s = await server(t);
  const url = s.urls.mqtt as string;
  for (const protocolVersion of [4, 5] as const) {
    const clientId = `unknown-v${protocolVersion}`;
    const c = await connect(url, { protocolVersion, username: 'mallory@lenient', password: 'anything', clientId });
    t.teardown(() => c.end(true));
    t.like(identityOf(s, 'lenient', clientId), { authid: anonymousMqttAuthid(clientId), authrole: 'guest', authmethod: 'anonymous' });
  }
  // A principal's name is no unknown user: a wrong password is still refused.
  t.is(await refusal(t, url, { protocolVersion: 4, username: 'alice@lenient', password: 'wrong' }), 0x04);
  // The default open realm maps unknown users to anonymous (it has no principals).
  const open = await connect(url, { protocolVersion: 4, username: 'whoever', password: 'x', clientId: 'open-1' });
  t.teardown(() => open.end(true));
  t.like(identityOf(s, 'realm1', 'open-1'), { authid: anonymousMqttAuthid('open-1'), authrole: 'anonymous' });
});

test("an anonymous client's authid is the same on every reconnect: its persistent session resumes", async (t) => {
  const s = await server(t);
  const url = s.urls.mqtt as string;
  const opts = { protocolVersion: 4 as const, username: '@strict', clientId: 'sensor-9', clean: false };
  const first = await connect(url, opts);
  await first.subscribeAsync('news/today', { qos: 1 });
  await first.endAsync();
  const pub = await connect(url, { username: 'alice@strict', password: 'alice pw' });
  t.teardown(() => pub.end(true));
  await pub.publishAsync('news/today', 'while away', { qos: 1 });
  const { client, connack } = connectRaw(url, opts);
  t.teardown(() => client.end(true));
  const got = new Promise<string>((r) => client.once('message', (_topic, payload) => r(payload.toString())));
  t.true((await connack).sessionPresent);
  t.is(await got, 'while away');
});

async function received(client: MqttClient, topic: string): Promise<string[]> {
  const out: string[] = [];
  client.on('message', (tp, payload) => tp === topic && out.push(payload.toString()));
  await client.subscribeAsync(topic, { qos: 1 });
  return out;
}

test("an MQTT client id that names a principal gets nothing meant for that principal", async (t) => {
  const s = await server(t);
  const url = s.urls.mqtt as string;
  // The poser: anonymous, client id "alice". The real alice: the principal, over MQTT.
  const poser = await connect(url, { protocolVersion: 4, username: '@strict', clientId: 'alice' });
  t.teardown(() => poser.end(true));
  const real = await connect(url, { protocolVersion: 5, username: 'alice@strict', password: 'alice pw', clientId: 'alice-phone' });
  t.teardown(() => real.end(true));
  const toPoser = await received(poser, 'news/secret');
  const toAlice = await received(real, 'news/secret');
  const wamp = await connectAutobahn(t, s.urls, { realm: 'strict', authid: 'alice', authmethods: ['ticket'], onchallenge: () => 'alice pw' });
  await wamp.publish('news.secret', ['for alice only'], {}, { acknowledge: true, eligible_authid: ['alice'] } as never);
  await wamp.publish('news.secret', ['not for alice'], {}, { acknowledge: true, exclude_authid: ['alice'] } as never);
  await wamp.publish('news.secret', ['end'], {}, { acknowledge: true });
  const until = Date.now() + 5000;
  while ((toPoser.length < 2 || toAlice.length < 2) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(toAlice, ['for alice only', 'end']);
  t.deepEqual(toPoser, ['not for alice', 'end']);
  // Nor can an anonymous client of either protocol take the authid reserved for anonymous MQTT clients.
  const raw = await RawWamp.ws(t, s.urls.wamp as string);
  const w = await raw.hello('strict', { authid: anonymousMqttAuthid('alice') });
  t.is(w[0], T.WELCOME);
  t.not((w[2] as { authid: string }).authid, anonymousMqttAuthid('alice'));
  t.regex((w[2] as { authid: string }).authid, /^anonymous-/);
});
