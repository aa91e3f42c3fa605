// Stored secrets: plain and hashed (PHC strings), parsed with bounds, compared in constant time,
// and a bound on hashed checks in progress at once.
import test from 'ava';
import { checkHashOptions, hashSecret, MAX_CONCURRENT_HASHED_CHECKS, parseSecret, SecretCheckBusy, sameSecret, verifySecret } from '../../lib/core/auth/secret.ts';

test('hashSecret writes PHC strings that verify the password and nothing else', async (t) => {
  const scrypt = await hashSecret('correct horse', { ln: 10 });
  t.regex(scrypt, /^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  const pbkdf2 = await hashSecret('correct horse', { algorithm: 'pbkdf2-sha256', iterations: 1000 });
  t.regex(pbkdf2, /^\$pbkdf2-sha256\$i=1000\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  for (const stored of [scrypt, pbkdf2]) {
    const s = parseSecret(stored);
    t.true(await verifySecret(s, 'correct horse'));
    t.true(await verifySecret(s, Buffer.from('correct horse')));
    t.false(await verifySecret(s, 'correct horsE'));
    t.false(await verifySecret(s, ''));
  }
  t.not(await hashSecret('x', { ln: 10 }), await hashSecret('x', { ln: 10 }), 'a fresh salt each time');
});

test('anything not claiming a hash is a plain secret, compared whatever the lengths', async (t) => {
  t.deepEqual(parseSecret('s3cret'), { kind: 'plain', text: 's3cret' });
  t.deepEqual(parseSecret('$notahash$x'), { kind: 'plain', text: '$notahash$x' });
  t.true(await verifySecret(parseSecret('s3cret'), 's3cret'));
  t.false(await verifySecret(parseSecret('s3cret'), 's3cre'));
  t.false(await verifySecret(parseSecret('s3cret'), 's3cret\u0000'));
  t.true(sameSecret('', ''));
  t.false(sameSecret('a', 'a'.repeat(10_000)));
  t.true(sameSecret(Buffer.from('é'), 'é'));
});

test('a malformed or out-of-bounds hashed secret is refused with the reason', (t) => {
  const salt = 'c2FsdHNhbHRzYWx0';
  const hash = 'A'.repeat(43);
  const bad: [string, RegExp][] = [
    [`$scrypt$ln=15,r=8$${salt}$${hash}`, /parameter p is missing/],
    [`$scrypt$ln=15,r=8,p=1,x=2$${salt}$${hash}`, /are not ln=<integer>/],
    [`$scrypt$ln=25,r=8,p=1$${salt}$${hash}`, /out of range/],
    [`$scrypt$ln=20,r=32,p=1$${salt}$${hash}`, /needs more than 256 MiB/],
    [`$pbkdf2-sha256$i=10$${salt}$${hash}`, /iterations out of range/],
    [`$pbkdf2-sha256$i=1000$${salt}`, /the hash is not base64/],
    [`$pbkdf2-sha256$i=1000$c2FsdA$${hash}`, /salt is shorter than 8 bytes/],
    [`$pbkdf2-sha256$i=1000$${salt}$${hash}$extra`, /too many/],
    [`$scrypt$ln=15,r=8,p=1$${salt}$QUJD`, /16 to 64 bytes/],
  ];
  for (const [text, reason] of bad) t.throws(() => parseSecret(text), { message: reason }, text);
  t.throws(() => checkHashOptions({ ln: 0 }), { message: /out of range/ });
  t.notThrows(() => checkHashOptions({ algorithm: 'pbkdf2-sha256' }));
});

// Serial: the bound is per process, and the other tests check secrets too.
test.serial(`past ${MAX_CONCURRENT_HASHED_CHECKS} hashed checks at once, more are refused as busy, not queued`, async (t) => {
  const stored = parseSecret(await hashSecret('pw', { ln: 8 }));
  const n = MAX_CONCURRENT_HASHED_CHECKS + 8;
  const results = await Promise.allSettled(Array.from({ length: n }, () => verifySecret(stored, 'pw')));
  t.is(results.filter((r) => r.status === 'fulfilled' && r.value === true).length, MAX_CONCURRENT_HASHED_CHECKS);
  const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  t.is(refused.length, 8);
  t.true(refused.every((r) => r.reason instanceof SecretCheckBusy));
  t.true(await verifySecret(stored, 'pw'), 'checks run again once the others are done');
});
