// The query string of a request: the first value of each key, percent-decoded to text, or to the
// exact bytes sent (values are bytes: `%FF` is the byte 0xFF, not a replacement character). `+` is
// kept as it is, as nginx's unescaping (which the hust* servers use) keeps it.
export class Query {
  private readonly raw = new Map<string, string>();

  constructor(querystring: string) {
    for (const part of querystring.split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      const key = decodeText(eq < 0 ? part : part.slice(0, eq)) ?? part;
      if (!this.raw.has(key)) this.raw.set(key, eq < 0 ? '' : part.slice(eq + 1));
    }
  }

  has(key: string): boolean {
    return this.raw.has(key);
  }

  /** The value as text; undefined when absent or not valid percent-encoded UTF-8. */
  text(key: string): string | undefined {
    const v = this.raw.get(key);
    return v === undefined ? undefined : decodeText(v);
  }

  /** The value as the bytes it encodes; undefined when absent. */
  bytes(key: string): Buffer | undefined {
    const v = this.raw.get(key);
    return v === undefined ? undefined : decodeBytes(v);
  }
}

function decodeText(s: string): string | undefined {
  if (s.indexOf('%') < 0) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

const HEX = /^[0-9A-Fa-f]{2}$/;

function decodeBytes(s: string): Buffer {
  if (s.indexOf('%') < 0) return Buffer.from(s);
  const out: number[] = [];
  const src = Buffer.from(s);
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as number;
    if (c === 0x25 && i + 2 < src.length && HEX.test(String.fromCharCode(src[i + 1] as number, src[i + 2] as number))) {
      out.push(parseInt(String.fromCharCode(src[i + 1] as number, src[i + 2] as number), 16));
      i += 2;
    } else out.push(c);
  }
  return Buffer.from(out);
}
