// WAMP-cryptosign with autobahn's own signer (auth_cryptosign over tweetnacl): the router checks
// Ed25519 signatures with node:crypto. Wrong keys, forged or replayed signatures, and the options
// we do not offer (channel binding, router authentication) are refused with a clear ABORT.
import test, { type ExecutionContext } from 'ava';
import autobahn from 'autobahn';
import { type RealmConfig, openRealm } from '../../lib/core/config.ts';
import { callError, openAutobahn } from '../helpers/autobahn.ts';
import { RawWamp, T } from '../helpers/raw-wamp.ts';
import { startTestServer } from '../helpers/server.ts';

interface KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}
const cs = (autobahn as unknown as { auth_cryptosign: { sign_challenge(key: KeyPair, extra: unknown): string; public_key(key: KeyPair): string } }).auth_cryptosign;
const nacl = (autobahn as unknown as { nacl: { sign: { keyPair: { fromSeed(seed: Uint8Array): KeyPair } } } }).nacl;

const keyOf = (n: number): KeyPair => nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(n));
const device = keyOf(1);
const spare = keyOf(2);
const stranger = keyOf(3);

const realm: RealmConfig = {
  name: 'keys',
  roles: [
    { name: 'device', permissions: [{ uri: 'dev.', match: 'prefix', allow: { publish: true, subscribe: true, call: true } }] },
    { name: 'admin', permissions: [{ uri: '', match: 'prefix', allow: { publish: true, subscribe: true, call: true, register: true } }] },
  ],
  auth: {
    cryptosign: {
      'dev-1': { authorized_keys: [cs.public_key(device), cs.public_key(spare).toUpperCase()], role: 'device' },
      ops: { authorized_keys: [cs.public_key(keyOf(4))], role: 'admin' },
    },
  },
};

async function server(t: ExecutionContext) {
  return startTestServer(t, { realms: [openRealm('realm1'), realm] });
}

function login(t: ExecutionContext, urls: Record<string, string>, key: KeyPair, authid: string | undefined, rawsocket = false) {
  return openAutobahn(t, urls, {
    realm: 'keys',
    rawsocket,
    authid,
    authmethods: ['cryptosign'],
    authextra: { pubkey: cs.public_key(key), trustroot: null, challenge: null, channel_binding: null },
    onchallenge: (_s, method, extra) => {
      if (method !== 'cryptosign') throw new Error(`unexpected method ${method}`);
      return cs.sign_challenge(key, extra);
    },
  });
}

const reason = (err: unknown): string | undefined => (err as { details?: { reason?: string } }).details?.reason;

test('an autobahn client logs in with an authorized key, named by authid or by the key alone', async (t) => {
  const { urls, router } = await server(t);
  const identity = (id: number) => router.realm('keys').sessions.get(id)?.identity;
  const { session } = await login(t, urls, device, 'dev-1');
  t.like(identity(session.id), { authid: 'dev-1', authrole: 'device', authmethod: 'cryptosign' });
  // Without an authid the key picks the principal; keys compare without regard to hex case.
  const byKey = await login(t, urls, spare, undefined, true);
  t.like(identity(byKey.session.id), { authid: 'dev-1', authrole: 'device', authmethod: 'cryptosign' });
  // The role applies: a device may publish on dev. but not register.
  await byKey.session.publish('dev.x', [1], {}, { acknowledge: true });
  const refused = await callError(byKey.session.register('dev.proc', () => 1));
  t.is(refused.error, 'wamp.error.not_authorized');
});

test('an unknown key, or a key of another principal, is refused', async (t) => {
  const { urls } = await server(t);
  const unknown = await t.throwsAsync(login(t, urls, stranger, undefined));
  t.is(reason(unknown), 'wamp.error.no_auth_method');
  const other = await t.throwsAsync(login(t, urls, keyOf(4), 'dev-1'));
  t.is(reason(other), 'wamp.error.no_auth_method');
});

test('a signature made with another key, over another challenge, or malformed, fails authentication', async (t) => {
  const { urls } = await server(t);
  const hello = { authmethods: ['cryptosign'], authid: 'dev-1', authextra: { pubkey: cs.public_key(device) } };
  const answers: ((extra: { challenge: string }) => string)[] = [
    (e) => cs.sign_challenge(stranger, e), // the right challenge, the wrong key
    (e) => cs.sign_challenge(device, { challenge: e.challenge.replace(/^../, (b) => (b === '00' ? '01' : '00')) }), // another challenge
    (e) => cs.sign_challenge(device, e).slice(0, 128).replace(/^./, (c) => (c === '0' ? '1' : '0')), // the signature alone, altered
    () => 'zz'.repeat(96), // not hex
    () => '', // empty
  ];
  for (const answer of answers) {
    const raw = await RawWamp.ws(t, urls.wamp as string);
    const challenge = await raw.hello('keys', hello);
    t.is(challenge[0], T.CHALLENGE);
    t.is(challenge[1], 'cryptosign');
    const extra = challenge[2] as { challenge: string; channel_binding: null };
    t.regex(extra.challenge, /^[0-9a-f]{64}$/);
    raw.send([T.AUTHENTICATE, answer(extra), {}]);
    const abort = await raw.nextOf(T.ABORT);
    t.is(abort[2], 'wamp.error.authentication_failed');
  }
  // The signature alone (without the challenge appended) is accepted too.
  const raw = await RawWamp.ws(t, urls.wamp as string);
  const challenge = await raw.hello('keys', hello);
  raw.send([T.AUTHENTICATE, cs.sign_challenge(device, challenge[2]).slice(0, 128), {}]);
  t.is((await raw.next())[0], T.WELCOME);
});

test('a signature is good for its own challenge only: a replay on a new session fails', async (t) => {
  const { urls } = await server(t);
  const hello = { authmethods: ['cryptosign'], authextra: { pubkey: cs.public_key(device) } };
  const first = await RawWamp.ws(t, urls.wamp as string);
  const signature = cs.sign_challenge(device, (await first.hello('keys', hello))[2]);
  first.send([T.AUTHENTICATE, signature, {}]);
  t.is((await first.next())[0], T.WELCOME);
  const replay = await RawWamp.ws(t, urls.wamp as string);
  await replay.hello('keys', hello);
  replay.send([T.AUTHENTICATE, signature, {}]);
  t.is((await replay.nextOf(T.ABORT))[2], 'wamp.error.authentication_failed');
});

test('channel binding, router authentication and a missing or malformed pubkey are refused by name', async (t) => {
  const { urls } = await server(t);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ pubkey: cs.public_key(device), channel_binding: 'tls-unique' }, /channel binding 'tls-unique' is not offered/],
    [{ pubkey: cs.public_key(device), challenge: 'ab'.repeat(32) }, /router authentication/],
    [{}, /authextra.pubkey/],
    [{ pubkey: 'abc' }, /authextra.pubkey/],
  ];
  for (const [authextra, message] of cases) {
    const raw = await RawWamp.ws(t, urls.wamp as string);
    const abort = await raw.hello('keys', { authmethods: ['cryptosign'], authid: 'dev-1', authextra });
    t.is(abort[0], T.ABORT);
    t.is(abort[2], 'wamp.error.authentication_failed');
    t.regex((abort[1] as { message: string }).message, message);
  }
  // The bystander session on the same server is unaffected.
  const ok = await login(t, urls, device, 'dev-1');
  t.true(ok.connection.isOpen);
});
