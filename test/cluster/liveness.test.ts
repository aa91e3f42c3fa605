// Starting several nodes: --redis without the preview opt-in is refused with what is missing;
// with it, nodes join, see each other, and a node killed -9 is declared dead by the survivor once
// its 3 s lease runs out (a log line and /healthz say so).
import test from 'ava';
import { startChildServer } from '../helpers/child-server.ts';
import { startNode, startRedis } from '../helpers/redis.ts';
import { until } from '../helpers/wait.ts';

interface ClusterHealth {
  status: string;
  cluster: { mode: string; node: string; connected: boolean; nodes: string[]; dead: { node: string; at: string }[] };
}

async function health(url: string): Promise<ClusterHealth> {
  return (await (await fetch(`${url}/healthz`)).json()) as ClusterHealth;
}

test('--redis without the preview opt-in stops the start with exit 2, naming what is missing', async (t) => {
  const env = { ...process.env };
  delete env.KITSUNE_CLUSTER_PREVIEW;
  const started = startChildServer(t, ['--port', '0', '--mqtt-port', 'none', '--memory', '--redis', 'redis://127.0.0.1:1'], env);
  const err = await t.throwsAsync(started);
  t.regex(err!.message, /server exited \(2\)/);
  t.regex(err!.message, /RPC across nodes/);
  t.regex(err!.message, /KITSUNE_CLUSTER_PREVIEW=1/);
});

test('nodes join and see each other; a node killed -9 is seen dead by the other within its lease', async (t) => {
  const redis = await startRedis(t);
  const [a, b] = await Promise.all([startNode(t, redis), startNode(t, redis)]);
  await until(() => a.stderr().includes('cluster.preview'), 10_000, 'the preview warning');
  const nodeB = (await health(b.urls.http!)).cluster.node;
  let seen: ClusterHealth | undefined;
  for (let i = 0; i < 100; i++) {
    seen = await health(a.urls.http!);
    if (seen.cluster.nodes.length === 2) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.is(seen!.status, 'ok');
  t.like(seen!.cluster, { mode: 'redis', connected: true });
  t.true(seen!.cluster.nodes.includes(nodeB));

  const killedAt = Date.now();
  b.child.kill('SIGKILL');
  await until(() => a.stderr().includes('"event":"cluster.node.dead"'), 15_000, 'the survivor to declare node B dead');
  const detectedMs = Date.now() - killedAt;
  t.log(`node B seen dead ${detectedMs} ms after kill -9 (lease 3 s, beat 1 s, sweep 250 ms)`);
  // The lease is 3 s from B's last beat (at most 1 s before the kill); margin for a loaded machine.
  t.true(detectedMs < 6_000, `detected after ${detectedMs} ms`);
  const after = await health(a.urls.http!);
  t.deepEqual(after.cluster.nodes, [after.cluster.node]);
  t.is(after.cluster.dead.at(-1)?.node, nodeB);
  t.is(await redis.client().zscore('kitsune:{cluster}:nodes', nodeB), null, 'its lease is gone from Redis');
});
