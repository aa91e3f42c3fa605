// Child process for the esub benchmark: kitsune (the whole server, esub on a dedicated port) and,
// in the same process, a bare Koa app doing the least a sub/rep server can do (a Map of waiting
// responses, a WebSocket per psub) — the reference the bridge is measured against.
// Prints one JSON line: {"event":"listening","kitsune":URL,"bare":URL}.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Koa from 'koa';
import { WebSocketServer, type WebSocket } from 'ws';
import { silentLogger } from '../../lib/core/log.ts';
import { defaultConfig } from '../../server/config.ts';
import { startServer } from '../../server/server.ts';

function bareApp(): http.Server {
  const app = new Koa();
  const router = new Router();
  const subs = new Map<string, (body: Buffer) => void>();
  const psubs = new Map<string, WebSocket>();
  router.get('/ping', (ctx) => {
    ctx.body = 'OK';
  });
  router.get('/keys', (ctx) => {
    ctx.body = JSON.stringify([...subs.keys()]);
  });
  router.get('/sub/:sub', (ctx) => {
    const key = ctx.params.sub as string;
    return new Promise<void>((resolve) => {
      subs.set(key, (body) => {
        ctx.body = body;
        resolve();
      });
      ctx.res.once('close', () => {
        if (subs.get(key)) subs.delete(key);
        resolve();
      });
    });
  });
  router.post('/rep/:sub', async (ctx) => {
    const chunks: Buffer[] = [];
    for await (const c of ctx.req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const key = ctx.params.sub as string;
    const waiting = subs.get(key);
    if (waiting) {
      subs.delete(key);
      waiting(body);
      ctx.body = 'OK';
      return;
    }
    const ws = psubs.get(key);
    if (ws) {
      await new Promise<void>((resolve) => ws.send(body, () => resolve()));
      ctx.body = 'OK';
      return;
    }
    ctx.status = 404;
    ctx.body = 'Unknown key';
  });
  app.use(router.routes());
  const server = http.createServer(app.callback());
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const key = decodeURIComponent((req.url ?? '').replace(/^\/psub\//, '').split('?')[0] ?? '');
    wss.handleUpgrade(req, socket, head, (ws) => {
      psubs.set(key, ws);
      ws.on('close', () => psubs.delete(key));
    });
  });
  return server;
}

const config = { ...defaultConfig(), port: 0, mqttPort: null, memory: true, esubPort: 0, esub: { storeMode: 'none' as const } };
const kitsune = await startServer(config, silentLogger);
const bare = bareApp();
await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', () => resolve()));
process.stdout.write(
  JSON.stringify({ event: 'listening', kitsune: kitsune.urls.esubPort, bare: `http://127.0.0.1:${(bare.address() as AddressInfo).port}` }) + '\n',
);
const stop = (): void => {
  bare.close();
  bare.closeAllConnections();
  kitsune.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
