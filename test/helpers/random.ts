// Randomized tests: a small deterministic PRNG (mulberry32), so a failure can be replayed, and a
// one-byte mutation of an input.
export function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `b` with one byte deleted, inserted or replaced at a random place; new bytes come from `bytes`. */
export function mutate(r: () => number, b: Buffer, bytes: readonly number[]): Buffer {
  const at = Math.floor(r() * (b.length + 1));
  const op = Math.floor(r() * 3);
  const byte = Buffer.from([bytes[Math.floor(r() * bytes.length)] as number]);
  if (op === 0) return Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
  if (op === 1) return Buffer.concat([b.subarray(0, at), byte, b.subarray(at)]);
  return Buffer.concat([b.subarray(0, at), byte, b.subarray(at + 1)]);
}
