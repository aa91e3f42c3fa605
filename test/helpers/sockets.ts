// Raw TCP clients for connection-level tests: open from a chosen loopback address, read what the
// server says until it closes, send a bare HTTP request.
import http from 'node:http';
import net from 'node:net';
import type { ExecutionContext } from 'ava';

/** Connects from `localAddress` (any of 127.0.0.0/8); destroyed at teardown. */
export function rawConnect(t: ExecutionContext, port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    t.teardown(() => void socket.destroy());
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Everything the server sends until it closes the connection, and when that happened. */
export function untilClosed(socket: net.Socket): Promise<{ data: Buffer; closedAt: number }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    if (socket.destroyed) return resolve({ data: Buffer.alloc(0), closedAt: Date.now() });
    socket.once('close', () => resolve({ data: Buffer.concat(chunks), closedAt: Date.now() }));
  });
}

export interface RawResponse {
  status: number;
  head: string;
  body: string;
}

export function parseResponse(data: Buffer): RawResponse {
  const text = data.toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  const head = split === -1 ? text : text.slice(0, split);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: split === -1 ? '' : text.slice(split + 4) };
}

/** One GET over a fresh connection from `localAddress`, read until the server closes it. */
export async function rawGet(t: ExecutionContext, port: number, path: string, localAddress = '127.0.0.1'): Promise<RawResponse> {
  const socket = await rawConnect(t, port, localAddress);
  const closed = untilClosed(socket);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  return parseResponse((await closed).data);
}

/** GET with node:http on a connection of its own (no pool), so it holds exactly one slot while it runs. */
export function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** The value of one metric line (name with its labels as printed) in a /metrics text, or 0. */
export function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

export const portOf = (url: string): number => Number(new URL(url).port);

/** Retries `check` until it returns true or `ms` pass. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}
