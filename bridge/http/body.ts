// Reading a request body with a size limit: a declared or streamed size over the limit fails at
// once (413 unless said otherwise) and the rest of the body is drained, not buffered.
import type { Context } from 'koa';
import { fail } from './fail.ts';

const EMPTY = Buffer.alloc(0);

export function readBody(ctx: Context, limit: number, status = 413): Promise<Buffer> {
  const req = ctx.req;
  const tooLarge = (): Error => fail(`request body larger than ${limit} bytes`, status);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  if (declared === 0 || (!req.headers['transfer-encoding'] && req.headers['content-length'] === undefined)) return Promise.resolve(EMPTY);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (err: Error | undefined, body?: Buffer): void => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve(body as Buffer);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) {
        req.resume();
        settle(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => settle(undefined, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)));
    req.on('error', (err: Error) => settle(fail(`cannot read the request body: ${err.message}`, 400)));
    req.on('close', () => {
      if (!req.complete) settle(fail('cannot read the request body: connection closed', 400));
    });
  });
}
