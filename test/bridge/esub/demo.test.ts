// The esub demo end to end: demo/esub-worker.ts takes jobs from a hustmq queue and answers each
// job's esub reply key; its client mode subs, puts the jobs and gets every answer back.
import test from 'ava';
import { spawn } from 'node:child_process';
import { startEsub } from '../../helpers/esub.ts';

function run(args: string[]): { done: Promise<{ code: number | null; out: string }>; kill(): void } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'demo/esub-worker.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return { done: new Promise((resolve) => child.once('close', (code) => resolve({ code, out }))), kill: () => void child.kill('SIGTERM') };
}

test('a worker answers the esub reply key of every job it takes from the hustmq queue', async (t) => {
  const s = await startEsub(t);
  const url = s.server.urls.http as string;
  const worker = run(['worker', '--kitsune', url, '--name', 'demo-worker']);
  t.teardown(worker.kill);
  const client = await run(['client', '--kitsune', url, '--jobs', '4', '--n', '10']).done;
  t.is(client.code, 0, client.out);
  const lines = client.out.trim().split('\n').map((l) => JSON.parse(l) as { status: number; n: number; result: string });
  t.deepEqual(
    lines.map((l) => [l.status, l.n, l.result]),
    [
      [200, 10, '55'],
      [200, 11, '89'],
      [200, 12, '144'],
      [200, 13, '233'],
    ],
  );
  worker.kill();
  const w = await worker.done;
  t.is((w.out.match(/"event":"replied"/g) ?? []).length, 4, w.out);
});
