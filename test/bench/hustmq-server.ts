// Child process for the hustmq benchmark: kitsune (the whole server on a SQLite store in a temp
// directory, hustmq on a dedicated port) and, in the same process, a bare Koa app whose one route
// answers 200 — the reference the bridge is measured against.
// Prints one JSON line: {"event":"listening","kitsune":URL,"bare":URL}.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Router from '@koa/router';
import Koa from 'koa';
import { silentLogger } from '../../lib/core/log.ts';
import { defaultConfig } from '../../server/config.ts';
import { startServer } from '../../server/server.ts';

function bareApp(): http.Server {
  const app = new Koa();
  const router = new Router();
  router.all('/ok', (ctx) => {
    ctx.set('Content-Type', 'text/plain');
    ctx.body = '';
  });
  // the same, reading the request body first (what any put has to do)
  router.all('/okbody', async (ctx) => {
    for await (const _chunk of ctx.req) {
      // drain
    }
    ctx.set('Content-Type', 'text/plain');
    ctx.body = '';
  });
  app.use(router.routes());
  return http.createServer(app.callback());
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'kitsune-bench-hustmq-'));
const server = await startServer({ ...defaultConfig(), port: 0, mqttPort: null, memory: false, dataDir, hustmqPort: 0, logLevel: 'silent' }, silentLogger);
const bare = bareApp();
await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
process.stdout.write(JSON.stringify({ event: 'listening', kitsune: server.urls.hustmqPort, bare: `http://127.0.0.1:${(bare.address() as AddressInfo).port}` }) + '\n');

const stop = (): void => {
  bare.close();
  bare.closeAllConnections();
  server.close().finally(() => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
