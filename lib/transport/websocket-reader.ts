// Reads what a WebSocket client sends (RFC 6455 section 5): frames, unmasked in place, joined into
// messages, with control frames handed over as they come. ws's Receiver does the same, but it cuts
// six Buffer views for every frame (its header, mask and payload, each also moving its place in the
// chunk): 0.4 us of a small message's 2.6 us in the router. This reader keeps offsets into the
// chunk and cuts one view, the message (0.13 us).
//
// Every input is bounded as ws bounds it: the message size (all fragments together, counted from
// each frame's header before its payload is awaited), the number of fragments of one message (so
// a stream of empty continuation frames ends in a 1008, not in an ever-growing list), and, when
// permessage-deflate was negotiated, the inflated size (websocket-deflate.ts). RSV1 is accepted only
// then, on the first frame of a data message; any other RSV bit is an error.
import { isUtf8 } from 'node:buffer';
import { inflateMessage } from './websocket-deflate.ts';
import { isSendableCloseCode, Opcode } from './websocket-frame.ts';

export interface WebSocketReaderHandler {
  /** A whole message, often a view into the socket's chunk (copy what you keep). Text is valid UTF-8. */
  onMessage(data: Buffer, binary: boolean): void;
  onPing(data: Buffer): void;
  onPong(): void;
  /** The peer's close frame, with its status code (undefined if it gave none). Nothing is read after it. */
  onClose(code: number | undefined, reason: string): void;
  /** The peer broke the protocol: fail the connection with this close code. Nothing is read after it. */
  onError(message: string, closeCode: number): void;
}

const { continuation: CONTINUATION, text: TEXT, binary: BINARY, close: CLOSE, ping: PING, pong: PONG } = Opcode;

export interface WebSocketReaderLimits {
  /** Largest message (after inflating, if compressed), in bytes: past it, 1009. */
  maxMessageBytes: number;
  /** Most frames one fragmented message may take: past it, 1008 (default DEFAULT_MAX_FRAGMENTS). */
  maxFragments?: number;
  /** Whether permessage-deflate was negotiated (RSV1 marks a compressed message). */
  compressed?: boolean;
}

/** ws's default: no client needs more fragments than this for one message. */
export const DEFAULT_MAX_FRAGMENTS = 16 * 1024;

export class WebSocketReader {
  /** Bytes of an incomplete frame, kept until `need` of them have arrived. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private need = 0;
  /** The opcode of a fragmented message in progress (0: none), its fragments and their size. */
  private fragmentedOpcode = 0;
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  /** Frames of the fragmented message so far, empty ones included. */
  private fragmentCount = 0;
  /** Whether the message in progress (or the frame being parsed) is compressed. */
  private messageCompressed = false;
  private stopped = false;
  private readonly maxMessageBytes: number;
  private readonly maxFragments: number;
  private readonly compressed: boolean;

  constructor(
    limits: WebSocketReaderLimits,
    private readonly handler: WebSocketReaderHandler,
  ) {
    this.maxMessageBytes = limits.maxMessageBytes;
    this.maxFragments = limits.maxFragments ?? DEFAULT_MAX_FRAGMENTS;
    this.compressed = limits.compressed === true;
  }

  /** Ignores everything read from now on. */
  stop(): void {
    this.stopped = true;
    this.held = [];
    this.fragments = [];
    this.fragmentCount = 0;
  }

  /** Reads a chunk from the socket. Its bytes are unmasked in place. */
  push(chunk: Buffer): void {
    if (this.stopped) return;
    let off = 0;
    // An incomplete frame is held: complete it with as few bytes of the chunk as it needs (copying
    // only those), then read the rest of the chunk in place.
    while (this.heldBytes > 0) {
      const take = Math.min(this.need - this.heldBytes, chunk.length - off);
      this.held.push(chunk.subarray(off, off + take));
      this.heldBytes += take;
      off += take;
      if (this.heldBytes < this.need) return;
      const frame = Buffer.concat(this.held, this.heldBytes);
      this.held = [];
      this.heldBytes = 0;
      // Either the frame is whole, or its header now says how many bytes it still needs.
      this.hold(frame, this.parse(frame, 0));
      if (this.stopped) return;
    }
    this.hold(chunk, this.parse(chunk, off));
  }

  /** Keeps what parse left of `buf` from `rest` on. A view, not a copy: it is joined later. */
  private hold(buf: Buffer, rest: number): void {
    if (rest >= buf.length || this.stopped) return;
    this.held.push(buf.subarray(rest));
    this.heldBytes = buf.length - rest;
  }

  /** Handles the whole frames in `buf` from `off`; returns where the first incomplete one starts. */
  private parse(buf: Buffer, off: number): number {
    const len = buf.length;
    while (!this.stopped && off < len) {
      if (len - off < 2) return this.wait(off, 2);
      const b0 = buf[off] as number;
      const b1 = buf[off + 1] as number;
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      const problem = this.headerProblem(b0, b1, opcode, fin);
      if (problem !== undefined) return this.fail(problem, 1002);
      let size = b1 & 0x7f;
      let p = off + 2;
      if (size === 126) {
        if (len - p < 2) return this.wait(off, 4);
        size = ((buf[p] as number) << 8) | (buf[p + 1] as number);
        p += 2;
      } else if (size === 127) {
        if (len - p < 8) return this.wait(off, 10);
        const high = buf.readUInt32BE(p);
        // Beyond 2^53 - 1 is not a length we could count; anything near it is over the limit anyway.
        size = high > 0x1fffff ? Number.MAX_SAFE_INTEGER : high * 2 ** 32 + buf.readUInt32BE(p + 4);
        p += 8;
      }
      if (opcode < CLOSE && this.fragmentBytes + size > this.maxMessageBytes) {
        return this.fail(`message exceeds the limit of ${this.maxMessageBytes} bytes`, 1009);
      }
      const start = p + 4;
      if (len - start < size) return this.wait(off, start - off + size);
      const end = start + size;
      unmask(buf, start, end, buf[p] as number, buf[p + 1] as number, buf[p + 2] as number, buf[p + 3] as number);
      off = end;
      const data = buf.subarray(start, end);
      if (opcode >= CLOSE) this.control(opcode, data);
      else this.dataFrame(opcode, fin, data);
    }
    return len;
  }

  /** Why a frame header is not acceptable from a client, or undefined. */
  private headerProblem(b0: number, b1: number, opcode: number, fin: boolean): string | undefined {
    const rsv1 = (b0 & 0x40) !== 0;
    if ((b0 & 0x30) !== 0 || (rsv1 && !this.compressed)) return 'RSV bits set, but no extension was negotiated';
    if ((b1 & 0x80) === 0) return 'a client frame must be masked';
    if (opcode === CONTINUATION) {
      if (rsv1) return 'RSV1 set on a continuation frame';
      if (this.fragmentedOpcode === 0) return 'a continuation frame with no message to continue';
      return undefined;
    }
    if (opcode === TEXT || opcode === BINARY) {
      if (this.fragmentedOpcode !== 0) return 'a new message before the fragmented one ended';
      this.messageCompressed = rsv1;
      return undefined;
    }
    if (opcode === CLOSE || opcode === PING || opcode === PONG) {
      if (rsv1) return 'RSV1 set on a control frame';
      if (!fin) return 'a fragmented control frame';
      const size = b1 & 0x7f;
      if (size > 125) return 'a control frame longer than 125 bytes';
      if (opcode === CLOSE && size === 1) return 'a close frame with a 1-byte body';
      return undefined;
    }
    return `unknown opcode ${opcode}`;
  }

  private dataFrame(opcode: number, fin: boolean, data: Buffer): void {
    if (fin && this.fragmentedOpcode === 0) {
      this.message(opcode, data);
      return;
    }
    if (opcode !== CONTINUATION) this.fragmentedOpcode = opcode;
    // Every frame counts, empty or not: the list of views stays short and the count bounds the work.
    if (++this.fragmentCount > this.maxFragments) {
      this.fail(`a message of more than ${this.maxFragments} fragments`, 1008);
      return;
    }
    if (data.length > 0) {
      this.fragments.push(data);
      this.fragmentBytes += data.length;
    }
    if (!fin) return;
    const message = this.fragments.length === 1 ? (this.fragments[0] as Buffer) : Buffer.concat(this.fragments, this.fragmentBytes);
    const messageOpcode = this.fragmentedOpcode;
    this.fragmentedOpcode = 0;
    this.fragments = [];
    this.fragmentBytes = 0;
    this.fragmentCount = 0;
    this.message(messageOpcode, message);
  }

  private message(opcode: number, raw: Buffer): void {
    let data = raw;
    if (this.messageCompressed) {
      this.messageCompressed = false;
      const inflated = inflateMessage(raw, this.maxMessageBytes);
      if (typeof inflated === 'string') {
        this.fail(inflated, inflated.startsWith('message') ? 1009 : 1007);
        return;
      }
      data = inflated;
    }
    if (opcode === TEXT && !isUtf8(data)) {
      this.fail('a text message that is not valid UTF-8', 1007);
      return;
    }
    this.handler.onMessage(data, opcode === BINARY);
  }

  private control(opcode: number, data: Buffer): void {
    if (opcode === PING) return this.handler.onPing(data);
    if (opcode === PONG) return this.handler.onPong();
    let code: number | undefined;
    let reason = '';
    if (data.length >= 2) {
      code = data.readUInt16BE(0);
      if (!isSendableCloseCode(code)) return void this.fail(`a close frame with the invalid status code ${code}`, 1002);
      const text = data.subarray(2);
      if (!isUtf8(text)) return void this.fail('a close reason that is not valid UTF-8', 1007);
      reason = text.toString();
    }
    this.stop();
    this.handler.onClose(code, reason);
  }

  /** Keeps the bytes from `off` until `need` of them are there; returns `off` for parse. */
  private wait(off: number, need: number): number {
    this.need = need;
    return off;
  }

  private fail(message: string, closeCode: number): number {
    this.stop();
    this.handler.onError(message, closeCode);
    return Number.MAX_SAFE_INTEGER;
  }
}

const maskBytes = new Uint8Array(4);
const maskWord = new Int32Array(maskBytes.buffer);
/** Below this many bytes a word view costs more than it saves (measured: 85 bytes 80 vs 140 ns, 300 bytes 210 vs 110 ns). */
const WORDS_FROM = 128;

/** XORs buf[start, end) in place with the mask m0..m3, repeated. */
function unmask(buf: Buffer, start: number, end: number, m0: number, m1: number, m2: number, m3: number): void {
  if (end - start >= WORDS_FROM) {
    unmaskWords(buf, start, end, m0, m1, m2, m3);
    return;
  }
  let i = start;
  for (const last = end - 3; i < last; i += 4) {
    buf[i] = (buf[i] as number) ^ m0;
    buf[i + 1] = (buf[i + 1] as number) ^ m1;
    buf[i + 2] = (buf[i + 2] as number) ^ m2;
    buf[i + 3] = (buf[i + 3] as number) ^ m3;
  }
  if (i < end) buf[i] = (buf[i] as number) ^ m0;
  if (i + 1 < end) buf[i + 1] = (buf[i + 1] as number) ^ m1;
  if (i + 2 < end) buf[i + 2] = (buf[i + 2] as number) ^ m2;
}

/** unmask for long payloads: 32-bit words over the aligned middle (2 KiB: 1.4 -> 0.3 us). */
function unmaskWords(buf: Buffer, start: number, end: number, m0: number, m1: number, m2: number, m3: number): void {
  const mask = [m0, m1, m2, m3];
  // Bytes up to the first 4-byte boundary of the underlying memory, then words, then the rest.
  const lead = (4 - ((buf.byteOffset + start) & 3)) & 3;
  let i = start;
  for (; i < start + lead; i++) buf[i] = (buf[i] as number) ^ (mask[i - start] as number);
  const words = (end - i) >> 2;
  // The mask as the word that lines up with bytes from `lead` on, in the machine's byte order.
  for (let k = 0; k < 4; k++) maskBytes[k] = mask[(lead + k) & 3] as number;
  const w = maskWord[0] as number;
  const view = new Int32Array(buf.buffer, buf.byteOffset + i, words);
  let k = 0;
  for (const last = words - 3; k < last; k += 4) {
    view[k] = (view[k] as number) ^ w;
    view[k + 1] = (view[k + 1] as number) ^ w;
    view[k + 2] = (view[k + 2] as number) ^ w;
    view[k + 3] = (view[k + 3] as number) ^ w;
  }
  for (; k < words; k++) view[k] = (view[k] as number) ^ w;
  i += words * 4;
  for (; i < end; i++) buf[i] = (buf[i] as number) ^ (mask[(i - start) & 3] as number);
}
