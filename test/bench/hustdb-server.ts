// Child process for the hustdb benchmark: kitsune (the whole server on a SQLite store in a temp
// directory, hustdb on a dedicated port) and, in the same process, a bare Koa app whose one route
// answers 200 — the reference the bridge is measured against. Before announcing itself it fills
// the tables of the scale rows ('scale_small' and 'scale_large'): sorted sets and sets straight
// through the store, hash fields through an in-process client (so they are in the retained tree and
// its bucket index).
// Prints one JSON line: {"event":"listening","kitsune":URL,"bare":URL}.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Koa from 'koa';
import { silentLogger } from '../../lib/core/log.ts';
import { hashTopic, indexListings } from '../../bridge/hustdb/names.ts';
import type { KitsuneRouter } from '../../lib/index.ts';
import { defaultConfig } from '../../server/config.ts';
import { startServer } from '../../server/server.ts';

const SMALL = Number(process.env.BENCH_HUSTDB_SMALL ?? 1000);
const LARGE = Number(process.env.BENCH_HUSTDB_LARGE ?? 1_000_000);

function bareApp(): http.Server {
  const app = new Koa();
  app.use((ctx) => {
    ctx.set('Content-Type', 'text/plain');
    ctx.body = '';
  });
  return http.createServer(app.callback());
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'kitsune-bench-hustdb-'));
const config = defaultConfig();
// the hash tables of the scale rows hold SMALL + LARGE retained fields, past the default limit of a million
config.router = { ...config.router, limits: { ...config.router.limits, maxRetainedPerRealm: SMALL + LARGE + 1000 } };
const server = await startServer({ ...config, port: 0, mqttPort: null, memory: false, dataDir, hustdbPort: 0, logLevel: 'silent' }, silentLogger);
const store = server.router.store!;
const client = (server.router as KitsuneRouter).connect('realm1', { authid: 'bench', authrole: 'trusted' });
// the listing indexes the bridge asks for on its first request, asked for now: the fill keeps them
// (otherwise the first bucket-range hkeys would wait for a million fields to be indexed in slices)
await indexListings(client);
for (const [table, n] of [['scale_small', SMALL], ['scale_large', LARGE]] as const) {
  for (let i = 0; i < n; i += 10_000) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(n, i + 10_000); j++) {
      batch.push(store.collectionPut('realm1', { kind: 'zset', table, member: Buffer.from(`m${j}`), score: j }));
      batch.push(store.collectionPut('realm1', { kind: 'set', table: `${table}_set`, member: Buffer.from(`m${j}`) }));
      batch.push(client.putRetained(hashTopic(`${table}_hash`, `f${j}`), Buffer.from('v')));
    }
    await Promise.all(batch);
  }
}
const bare = bareApp();
await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
process.stdout.write(JSON.stringify({ event: 'listening', kitsune: server.urls.hustdbPort, bare: `http://127.0.0.1:${(bare.address() as AddressInfo).port}` }) + '\n');

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
