// A message body that is either WAMP-native ({args, kwargs}) or bytes (MQTT/HTTP-native).
// It converts lazily in either direction and caches the result, so fan-out converts once. WAMP
// arguments may also arrive still encoded (fromEncoded); they are decoded on first use.
//
// The mapping (README "MQTT ⇄ WAMP payloads" has the table): bytes that are JSON become its value,
// other UTF-8 text becomes a string, anything else stays binary; back again, a lone string goes out
// as its UTF-8 text, a lone binary value as it is, anything else as JSON.
import { parseJson, stringifyJsonExact } from './json-exact.ts';
import type { Dict } from './dict.ts';

// ignoreBOM keeps a leading U+FEFF in the string, so text with a BOM comes back byte-identical.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const EMPTY = new Uint8Array(0);

function isBinary(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

/** True if `v` holds a binary value at any depth; a loop, as values from MQTT JSON may nest without limit. */
function containsBinary(v: unknown): boolean {
  if (isBinary(v)) return true;
  if (v === null || typeof v !== 'object') return false;
  const stack: object[] = [v];
  for (let o = stack.pop(); o !== undefined; o = stack.pop()) {
    for (const k in o) {
      const x = (o as Dict)[k];
      if (x === null || typeof x !== 'object') continue;
      if (isBinary(x)) return true;
      stack.push(x);
    }
  }
  return false;
}

/**
 * JSON.stringify that renders binary values as WAMP's "\u0000" + base64 string convention and
 * BigInts (integers beyond 2^53) as their exact literals.
 */
export function jsonWithBinary(value: unknown): string {
  try {
    // The replacer is slow (it runs on every value); most values hold no binary and skip it.
    if (!containsBinary(value)) return JSON.stringify(value);
    return JSON.stringify(value, (_k, v: unknown) => {
      if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
        return '\u0000' + Buffer.from((v as { data: number[] }).data).toString('base64');
      }
      if (isBinary(v)) return '\u0000' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
      return v;
    });
  } catch {
    // A BigInt, which JSON.stringify cannot write (the exact writer throws again on a cycle).
    return stringifyJsonExact(value) as string;
  }
}

/**
 * Arguments exactly as a peer sent them, in a gate's wire format: a gate sending them to a peer of
 * the same format copies them instead of encoding the values again. Opaque to core.
 */
export interface EncodedArgs {
  /** The gate's name for the format, e.g. 'wamp.2.json'. */
  readonly format: string;
  /** The values; called at most once per payload. Empty lists and dictionaries come back undefined. */
  decode(): { args: unknown[] | undefined; kwargs: Dict | undefined };
}

export class Payload {
  private _args: unknown[] | undefined;
  private _kwargs: Dict | undefined;
  private _bytes: Uint8Array | undefined;
  private _hasArgs: boolean;
  private _encoded: EncodedArgs | undefined;
  /** Set while the arguments are known only encoded (see fromEncoded). */
  private _undecoded: EncodedArgs | undefined;

  private constructor(hasArgs: boolean, args?: unknown[], kwargs?: Dict, bytes?: Uint8Array) {
    this._hasArgs = hasArgs;
    this._args = args;
    this._kwargs = kwargs;
    this._bytes = bytes;
  }

  static fromArgs(args?: unknown[] | null, kwargs?: Dict | null): Payload {
    const a = args && args.length > 0 ? args : undefined;
    const k = kwargs && Object.keys(kwargs).length > 0 ? kwargs : undefined;
    return new Payload(true, a, k);
  }

  /**
   * Non-empty arguments as a gate received them, decoded only when someone asks for their values:
   * a receiver in the same format gets them as they are (encodedAs) and nothing is decoded at all.
   */
  static fromEncoded(encoded: EncodedArgs): Payload {
    const p = new Payload(true);
    p._encoded = encoded;
    p._undecoded = encoded;
    return p;
  }

  static fromBytes(bytes: Uint8Array): Payload {
    return new Payload(false, undefined, undefined, bytes);
  }

  static empty(): Payload {
    return new Payload(true);
  }

  /** The arguments as received, if they were encoded in `format`. */
  encodedAs(format: string): EncodedArgs | undefined {
    const e = this._encoded;
    return e !== undefined && e.format === format ? e : undefined;
  }

  /** True when the payload was created from bytes (MQTT/HTTP-native). */
  get isBytes(): boolean {
    return !this._hasArgs;
  }

  get isEmpty(): boolean {
    if (this._hasArgs) return this._undecoded === undefined && this._args === undefined && this._kwargs === undefined;
    return (this._bytes as Uint8Array).length === 0;
  }

  get args(): unknown[] | undefined {
    this.ensureArgs();
    return this._args;
  }

  get kwargs(): Dict | undefined {
    this.ensureArgs();
    return this._kwargs;
  }

  /** Bytes view: one positional arg → that value (raw if binary, its UTF-8 text if a string, JSON otherwise). */
  get bytes(): Uint8Array {
    if (this._bytes === undefined) this._bytes = this.encodeBytes();
    return this._bytes;
  }

  /** The single value this payload stands for (first arg, or kwargs, or the decoded bytes). */
  get value(): unknown {
    const args = this.args;
    if (args && args.length > 0) return args[0];
    return this.kwargs ?? null;
  }

  /** Structural equality used for conditional writes (`when`). */
  equals(other: Payload): boolean {
    const a = this.bytes;
    const b = other.bytes;
    return a.length === b.length && Buffer.compare(a, b) === 0;
  }

  private ensureArgs(): void {
    const undecoded = this._undecoded;
    if (undecoded !== undefined) {
      this._undecoded = undefined;
      ({ args: this._args, kwargs: this._kwargs } = undecoded.decode());
      return;
    }
    if (this._hasArgs) return;
    this._hasArgs = true;
    const bytes = this._bytes as Uint8Array;
    if (bytes.length === 0) return;
    let text: string | undefined;
    try {
      text = utf8.decode(bytes);
    } catch {
      text = undefined;
    }
    if (text === undefined) {
      this._args = [bytes]; // not UTF-8: binary
      return;
    }
    try {
      this._args = [parseJson(text)];
    } catch {
      this._args = [text]; // text that is not JSON (`mosquitto_pub -m open`): a string
    }
  }

  private encodeBytes(): Uint8Array {
    this.ensureArgs();
    const args = this._args;
    const kwargs = this._kwargs;
    if (!args && !kwargs) return EMPTY;
    if (args && args.length === 1 && !kwargs) {
      const v = args[0];
      if (isBinary(v)) return v;
      if (typeof v === 'string') return Buffer.from(v, 'utf8');
      return Buffer.from(jsonWithBinary(v));
    }
    if (!args && kwargs) return Buffer.from(jsonWithBinary(kwargs));
    return Buffer.from(jsonWithBinary({ args: args ?? [], kwargs: kwargs ?? {} }));
  }
}
