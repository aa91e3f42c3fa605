// Plain-text replies with an exact Content-Length, as the hust* servers send them (Koa's defaults
// would say application/json or application/octet-stream). `headers` may name another
// Content-Type (esub's Go server says `text/plain; charset=utf-8`).
import { isUtf8 } from 'node:buffer';
import type { Context } from 'koa';

const ONE_PIECE_MAX = 4096;

export function reply(ctx: Context, status: number, body: string | Uint8Array = '', headers?: Record<string, string>): void {
  ctx.status = status;
  ctx.set('Content-Type', 'text/plain');
  if (headers) for (const [k, v] of Object.entries(headers)) ctx.set(k, v);
  if (typeof body === 'string') ctx.body = body;
  else {
    const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    // Node writes a string body in one piece with the headers, a Buffer as a second chunk: a small
    // UTF-8 body goes out as the same bytes in a string
    ctx.body = bytes.length <= ONE_PIECE_MAX && isUtf8(bytes) ? bytes.toString() : bytes;
  }
  // Koa leaves Content-Length unset for an empty string body; the original servers always send it
  if (ctx.length === undefined) ctx.length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
}
