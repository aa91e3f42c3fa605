// hustmq bridge on the SQLite store: queued items, unacked items, locks and push windows survive a
// restart of the server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { silentLogger } from '../../../lib/core/log.ts';
import { defaultConfig } from '../../../server/config.ts';
import { startServer } from '../../../server/server.ts';
import { request } from '../../helpers/hustmq.ts';

async function start(dataDir: string) {
  const server = await startServer({ ...defaultConfig(), port: 0, mqttPort: null, memory: false, dataDir, hustmqPort: 0, hustmq: { minuteMs: 100 } }, silentLogger);
  const base = server.urls.hustmqPort as string;
  return { server, req: (p: string, init?: RequestInit) => request(base + p, init) };
}

test('a restart keeps queued items (order and priority), unacked items, lock/max/timeout, and push windows', async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kitsune-hustmq-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));

  const a = await start(dataDir);
  try {
    for (let i = 0; i < 5; i++) t.is((await a.req(`/put?queue=durable&item=item${i}`)).status, 200);
    await a.req('/put?queue=durable&item=urgent&priori=2');
    await a.req('/put?queue=acked&item=pending');
    t.is((await a.req('/get?queue=acked&worker=worker1&ack=false')).status, 200);
    await a.req('/put?queue=locked&item=x');
    await a.req('/lock?queue=locked&on=1');
    await a.req('/timeout?queue=durable&minute=7');
    for (const v of ['p1', 'p2', 'p3']) await a.req(`/pub?queue=pushed&item=${v}`);
    await a.req('/pub?queue=jumped&item=j&idx=40');
  } finally {
    await a.server.close();
  }

  const b = await start(dataDir);
  try {
    const stat = JSON.parse((await b.req('/stat?queue=durable')).text) as { ready: number[]; timeout: number };
    t.deepEqual(stat.ready, [5, 0, 1]);
    t.is(stat.timeout, 7);
    const got: string[] = [];
    for (let i = 0; i < 6; i++) got.push((await b.req('/get?queue=durable&worker=worker1')).text);
    t.deepEqual(got, ['urgent', 'item0', 'item1', 'item2', 'item3', 'item4']);
    t.regex((await b.req('/stat?queue=acked')).text, /"unacked":1/);
    t.is((await b.req('/put?queue=locked&item=y')).status, 404, 'still locked');
    t.like(JSON.parse((await b.req('/stat?queue=pushed')).text), { type: 1, si: 0, ci: 3 });
    t.is((await b.req('/sub?queue=pushed&idx=2')).text, 'p2');
    t.like(JSON.parse((await b.req('/stat?queue=jumped')).text), { si: 39, ci: 40 });
    // the window continues where it was
    await b.req('/pub?queue=pushed&item=p4');
    t.is((await b.req('/sub?queue=pushed&idx=4')).text, 'p4');
  } finally {
    await b.server.close();
  }
});
