// Stored secrets (ticket / MQTT / HTTP passwords): plain text, or hashed in the PHC string format
// (https://github.com/P-H-C/phc-string-format), as `kitsune passwd` writes them:
//   $scrypt$ln=15,r=8,p=1$<salt>$<hash>          scrypt, N = 2^ln
//   $pbkdf2-sha256$i=600000$<salt>$<hash>         PBKDF2-HMAC-SHA256
// salt and hash in base64 without padding. Every comparison goes through sameSecret(): constant time,
// whatever the lengths.
import { createHmac, pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export type HashedSecret =
  | { kind: 'scrypt'; ln: number; r: number; p: number; salt: Buffer; hash: Buffer }
  | { kind: 'pbkdf2-sha256'; iterations: number; salt: Buffer; hash: Buffer };

export type StoredSecret = { kind: 'plain'; text: string } | HashedSecret;

/** Bounds on what a config may ask of one check: memory (scrypt 128·N·r bytes) and time. */
const SCRYPT_MAX_LN = 20;
const SCRYPT_MAX_R = 32;
const SCRYPT_MAX_P = 16;
const SCRYPT_MAX_MEM = 256 * 1024 * 1024;
const PBKDF2_MAX_ITERATIONS = 10_000_000;

export const DEFAULT_SCRYPT = { ln: 15, r: 8, p: 1 } as const;
export const DEFAULT_PBKDF2_ITERATIONS = 600_000;

/**
 * Hashed checks in progress in this process at once: each takes tens of milliseconds (and scrypt
 * tens of MiB) on libuv's small thread pool, so a flood of logins is refused past this many rather
 * than queued without end.
 */
export const MAX_CONCURRENT_HASHED_CHECKS = 32;
let hashedChecks = 0;

/** Thrown (as a rejection) by verifySecret when MAX_CONCURRENT_HASHED_CHECKS are under way. */
export class SecretCheckBusy extends Error {
  constructor() {
    super(`${MAX_CONCURRENT_HASHED_CHECKS} password checks are under way; try again later`);
    this.name = 'SecretCheckBusy';
  }
}

// A per-process key: comparing HMACs rather than the texts gives equal lengths, so neither the
// content nor the length of a secret shows in the time a comparison takes.
const compareKey = randomBytes(32);
const digest = (value: string | Buffer): Buffer => createHmac('sha256', compareKey).update(value).digest();

/** Constant-time equality of two secrets of any lengths. */
export function sameSecret(a: string | Buffer, b: string | Buffer): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

const B64 = /^[A-Za-z0-9+/]+$/;

function b64(text: string | undefined, what: string): Buffer {
  if (text === undefined || !B64.test(text)) throw new Error(`${what} is not base64 (without padding)`);
  return Buffer.from(text, 'base64');
}

/** `ln=15,r=8,p=1` → {ln: 15, r: 8, p: 1}; every name must be known and every value an integer. */
function params(text: string | undefined, names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (text ?? '').split(',')) {
    const [name, value] = part.split('=');
    if (name === undefined || !names.includes(name) || value === undefined || !/^\d{1,9}$/.test(value)) throw new Error(`parameters "${text ?? ''}" are not ${names.map((n) => `${n}=<integer>`).join(',')}`);
    out[name] = Number(value);
  }
  for (const name of names) if (out[name] === undefined) throw new Error(`parameter ${name} is missing`);
  return out;
}

/** Whether a stored string claims to be hashed (then it must parse, else the config is refused). */
export function looksHashed(stored: string): boolean {
  return stored.startsWith('$scrypt$') || stored.startsWith('$pbkdf2-sha256$');
}

/** Parses a stored secret; throws an Error naming the problem for a malformed hashed one. */
export function parseSecret(stored: string): StoredSecret {
  if (!looksHashed(stored)) return { kind: 'plain', text: stored };
  const [, id, paramText, saltText, hashText, ...rest] = stored.split('$');
  if (rest.length > 0) throw new Error('too many $-separated fields');
  const salt = b64(saltText, 'the salt');
  const hash = b64(hashText, 'the hash');
  if (salt.length < 8) throw new Error('the salt is shorter than 8 bytes');
  if (hash.length < 16 || hash.length > 64) throw new Error('the hash is not 16 to 64 bytes long');
  if (id === 'scrypt') {
    const { ln, r, p } = params(paramText, ['ln', 'r', 'p']) as { ln: number; r: number; p: number };
    if (ln < 1 || ln > SCRYPT_MAX_LN || r < 1 || r > SCRYPT_MAX_R || p < 1 || p > SCRYPT_MAX_P) throw new Error(`scrypt parameters out of range (ln 1-${SCRYPT_MAX_LN}, r 1-${SCRYPT_MAX_R}, p 1-${SCRYPT_MAX_P})`);
    if (scryptMemory(ln, r) > SCRYPT_MAX_MEM) throw new Error(`scrypt ln=${ln},r=${r} needs more than ${SCRYPT_MAX_MEM >> 20} MiB`);
    return { kind: 'scrypt', ln, r, p, salt, hash };
  }
  const { i } = params(paramText, ['i']) as { i: number };
  if (i < 1000 || i > PBKDF2_MAX_ITERATIONS) throw new Error(`pbkdf2 iterations out of range (1000-${PBKDF2_MAX_ITERATIONS})`);
  return { kind: 'pbkdf2-sha256', iterations: i, salt, hash };
}

const scryptMemory = (ln: number, r: number): number => 128 * 2 ** ln * r;

function derive(s: HashedSecret, password: string | Buffer, keylen: number, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, key: Buffer): void => (err ? reject(err) : resolve(key));
    if (s.kind === 'scrypt') scrypt(password, salt, keylen, { N: 2 ** s.ln, r: s.r, p: s.p, maxmem: scryptMemory(s.ln, s.r) * 2 }, done);
    else pbkdf2(password, salt, s.iterations, keylen, 'sha256', done);
  });
}

/**
 * Whether `given` matches the stored secret. Hashed checks run on the thread pool (never blocking
 * the event loop) and reject with SecretCheckBusy past MAX_CONCURRENT_HASHED_CHECKS.
 */
export async function verifySecret(stored: StoredSecret, given: string | Buffer): Promise<boolean> {
  if (stored.kind === 'plain') return sameSecret(stored.text, given);
  if (hashedChecks >= MAX_CONCURRENT_HASHED_CHECKS) throw new SecretCheckBusy();
  hashedChecks++;
  try {
    return sameSecret(await derive(stored, given, stored.hash.length, stored.salt), stored.hash);
  } finally {
    hashedChecks--;
  }
}

const unpadded = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');

export interface HashOptions {
  algorithm?: 'scrypt' | 'pbkdf2-sha256';
  /** scrypt: log2 of N (default 15). */
  ln?: number;
  /** pbkdf2-sha256 iterations (default 600,000). */
  iterations?: number;
}

/** The parameters as a hashed secret with a placeholder hash; throws if they are out of bounds. */
function withParameters(options: HashOptions, salt: Buffer): HashedSecret {
  const head =
    options.algorithm === 'pbkdf2-sha256'
      ? `$pbkdf2-sha256$i=${options.iterations ?? DEFAULT_PBKDF2_ITERATIONS}`
      : `$scrypt$ln=${options.ln ?? DEFAULT_SCRYPT.ln},r=${DEFAULT_SCRYPT.r},p=${DEFAULT_SCRYPT.p}`;
  return parseSecret(`${head}$${unpadded(salt)}$${unpadded(Buffer.alloc(32))}`) as HashedSecret;
}

/** Throws an Error naming the problem when these options would write a secret we refuse to read. */
export function checkHashOptions(options: HashOptions): void {
  withParameters(options, Buffer.alloc(16));
}

/** The stored form of `password` (what `kitsune passwd` prints). */
export async function hashSecret(password: string, options: HashOptions = {}): Promise<string> {
  const s = withParameters(options, randomBytes(16));
  const hash = await derive(s, password, 32, s.salt);
  return s.kind === 'scrypt' ? `$scrypt$ln=${s.ln},r=${s.r},p=${s.p}$${unpadded(s.salt)}$${unpadded(hash)}` : `$pbkdf2-sha256$i=${s.iterations}$${unpadded(s.salt)}$${unpadded(hash)}`;
}
