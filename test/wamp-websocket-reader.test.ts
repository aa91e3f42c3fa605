// The WebSocket frame reader on its own: random streams of masked frames (fragmented messages, pings
// between fragments, every length encoding) cut into random chunks must come out as the messages
// that went in; and each way a client can break RFC 6455 fails with its close code, reading nothing
// after it.
import test from 'ava';
import { WebSocketReader, type WebSocketReaderHandler } from '../lib/transport/websocket-reader.ts';
import { prng } from './helpers/random.ts';
import { maskedFrame as frame } from './helpers/websocket-frames.ts';

type Seen =
  | { kind: 'message'; data: Buffer; binary: boolean }
  | { kind: 'ping'; data: Buffer }
  | { kind: 'pong' }
  | { kind: 'close'; code: number | undefined; reason: string }
  | { kind: 'error'; message: string; code: number };

function recorder(): { seen: Seen[]; handler: WebSocketReaderHandler } {
  const seen: Seen[] = [];
  return {
    seen,
    handler: {
      // copies: the reader hands out views into chunks
      onMessage: (data, binary) => seen.push({ kind: 'message', data: Buffer.from(data), binary }),
      onPing: (data) => seen.push({ kind: 'ping', data: Buffer.from(data) }),
      onPong: () => seen.push({ kind: 'pong' }),
      onClose: (code, reason) => seen.push({ kind: 'close', code, reason }),
      onError: (message, code) => seen.push({ kind: 'error', message, code }),
    },
  };
}

/** Feeds `bytes` to a fresh reader in chunks of the given sizes (the rest in one), copying each chunk. */
function read(bytes: Buffer, chunkSizes: number[] = [], max = 1 << 20): Seen[] {
  const { seen, handler } = recorder();
  const reader = new WebSocketReader({ maxMessageBytes: max }, handler);
  let off = 0;
  for (const n of chunkSizes) {
    if (off >= bytes.length) break;
    reader.push(Buffer.from(bytes.subarray(off, off + n)));
    off += n;
  }
  if (off < bytes.length) reader.push(Buffer.from(bytes.subarray(off)));
  return seen;
}

const SIZES = [0, 1, 3, 4, 5, 85, 125, 126, 127, 128, 300, 1023, 2048, 65535, 65536, 70000];

test('random streams of frames, cut into random chunks, give back every message, ping and pong in order', (t) => {
  const r = prng(6455);
  const randomBytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
  const randomText = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => (r() < 0.1 ? 'é€😀' : 'abc{}[]"')[Math.floor(r() * 3)]).join('')).subarray(0, n);
  for (let round = 0; round < 60; round++) {
    const parts: Buffer[] = [];
    const expected: Seen[] = [];
    for (let m = 0; m < 12; m++) {
      const size = r() < 0.5 ? (SIZES[Math.floor(r() * SIZES.length)] as number) : Math.floor(r() * 400);
      const binary = r() < 0.5;
      let data = binary ? randomBytes(size) : randomText(size);
      if (!binary) data = Buffer.from(data.toString()); // cut on a character boundary: valid UTF-8 (maybe with U+FFFD)
      expected.push({ kind: 'message', data, binary });
      const mask = Buffer.from([0, 1, 2, 3].map(() => Math.floor(r() * 256)));
      const fragments = r() < 0.3 ? 1 + Math.floor(r() * 4) : 1;
      let from = 0;
      for (let f = 0; f < fragments; f++) {
        const to = f === fragments - 1 ? data.length : from + Math.floor(r() * (data.length - from + 1));
        const lengthForm = r() < 0.15 ? 64 : r() < 0.15 ? 16 : undefined;
        parts.push(frame(f === 0 ? (binary ? 2 : 1) : 0, data.subarray(from, to), { fin: f === fragments - 1, key: mask, lengthForm }));
        from = to;
        if (f < fragments - 1 && r() < 0.5) {
          const ping = randomBytes(Math.floor(r() * 126));
          parts.push(frame(0x9, ping, { key: mask }));
          expected.push({ kind: 'ping', data: ping });
          // a control frame between fragments is seen before the message it interrupts
          expected.splice(expected.length - 2, 2, expected[expected.length - 1] as Seen, expected[expected.length - 2] as Seen);
        }
      }
      if (r() < 0.2) {
        parts.push(frame(0xa, randomBytes(5)));
        expected.push({ kind: 'pong' });
      }
    }
    const stream = Buffer.concat(parts);
    const chunks: number[] = [];
    const style = round % 3;
    for (let total = 0; total < stream.length; ) {
      const n = style === 0 ? 1 + Math.floor(r() * 7) : style === 1 ? 1 + Math.floor(r() * 3000) : 1 + Math.floor(r() * 70000);
      chunks.push(n);
      total += n;
    }
    t.deepEqual(read(stream, chunks), expected, `round ${round}`);
  }
});

test('a frame split at every offset, and many frames in one chunk', (t) => {
  const msg = Buffer.from('[16,1,{},"a.b",[1,"x"]]');
  const one = frame(1, msg);
  const want: Seen = { kind: 'message', data: msg, binary: false };
  for (let cut = 1; cut < one.length; cut++) t.deepEqual(read(one, [cut]), [want], `cut at ${cut}`);
  t.deepEqual(read(Buffer.concat(Array.from({ length: 500 }, () => one))).length, 500);
});

test('a multi-byte character split between two fragments is valid UTF-8', (t) => {
  const text = Buffer.from('caf€!');
  const stream = Buffer.concat([frame(1, text.subarray(0, 4), { fin: false }), frame(0, text.subarray(4))]);
  t.deepEqual(read(stream), [{ kind: 'message', data: text, binary: false }]);
});

test('close frames: code and reason, no code, and nothing read after', (t) => {
  const body = Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('bye ✓')]);
  t.deepEqual(read(Buffer.concat([frame(8, body), frame(1, Buffer.from('[]'))])), [{ kind: 'close', code: 4000, reason: 'bye ✓' }]);
  t.deepEqual(read(frame(8, Buffer.alloc(0))), [{ kind: 'close', code: undefined, reason: '' }]);
});

const closeBody = (code: number): Buffer => Buffer.from([code >> 8, code & 0xff]);

const violations: [string, Buffer, number][] = [
  ['an unmasked frame', frame(1, Buffer.from('[]'), { mask: false }), 1002],
  ['RSV1 set', frame(1, Buffer.from('[]'), { rsv: 4 }), 1002],
  ['RSV3 set', frame(2, Buffer.from('x'), { rsv: 1 }), 1002],
  ['opcode 3', frame(3, Buffer.from('x')), 1002],
  ['opcode 0xb', frame(0xb, Buffer.from('x')), 1002],
  ['a continuation with nothing to continue', frame(0, Buffer.from('x')), 1002],
  ['a new message inside a fragmented one', Buffer.concat([frame(1, Buffer.from('a'), { fin: false }), frame(1, Buffer.from('b'))]), 1002],
  ['a fragmented ping', frame(9, Buffer.from('x'), { fin: false }), 1002],
  ['a ping of 126 bytes', frame(9, Buffer.alloc(126), { lengthForm: 16 }), 1002],
  ['a close frame with a 1-byte body', frame(8, Buffer.from([3])), 1002],
  ['close status 1005', frame(8, closeBody(1005)), 1002],
  ['close status 999', frame(8, closeBody(999)), 1002],
  ['close status 2000', frame(8, closeBody(2000)), 1002],
  ['close status 5000', frame(8, closeBody(5000)), 1002],
  ['a close reason that is not UTF-8', frame(8, Buffer.concat([closeBody(1000), Buffer.from([0xff])])), 1007],
  ['a text message that is not UTF-8', frame(1, Buffer.from([0x5b, 0xc3, 0x28, 0x5d])), 1007],
  ['a fragmented text message that is not UTF-8', Buffer.concat([frame(1, Buffer.from([0x5b, 0xe2]), { fin: false }), frame(0, Buffer.from([0x28, 0x5d]))]), 1007],
];

for (const [name, bytes, code] of violations) {
  test(`${name} fails with ${code}, and nothing after it is read`, (t) => {
    const seen = read(Buffer.concat([bytes, frame(1, Buffer.from('["after"]'))]));
    t.is(seen.length, 1, JSON.stringify(seen));
    t.like(seen[0], { kind: 'error', code });
  });
}

test('a message over the limit fails with 1009 as soon as its header arrives', (t) => {
  const header = frame(2, Buffer.alloc(2000)).subarray(0, 8); // 4-byte header and the mask
  t.deepEqual(read(header, [], 1024), [{ kind: 'error', message: 'message exceeds the limit of 1024 bytes', code: 1009 }]);
  const huge = Buffer.from([0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]); // 2^63 - 1 bytes
  t.like(read(huge, [], 1024)[0], { kind: 'error', code: 1009 });
  t.deepEqual(read(frame(2, Buffer.alloc(1024)), [], 1024).length, 1, 'exactly the limit is fine');
});

test('fragments that add up to more than the limit fail with 1009', (t) => {
  const stream = Buffer.concat([frame(2, Buffer.alloc(600), { fin: false }), frame(0, Buffer.alloc(600))]);
  t.like(read(stream, [], 1024)[0], { kind: 'error', code: 1009 });
});
