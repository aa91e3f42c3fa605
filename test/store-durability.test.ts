// kill -9 loses nothing acknowledged: a child process writes to a SQLite store and prints each
// acknowledged write; we SIGKILL it at a random moment, reopen the store and look for every one.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../lib/store/open.ts';

const here = dirname(fileURLToPath(import.meta.url));
const writer = join(here, 'fixtures', 'store-writer.ts');
const R = 'realm1';

interface Acked {
  retained: Map<string, number>;
  queue: string[];
  history: Map<number, string>;
}

/** Runs the writer until `killAfterMs` after it is ready, SIGKILLs it, returns what it acknowledged. */
function runAndKill(dataDir: string, round: number, killAfterMs: number): Promise<Acked> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dataDir, String(round)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (!timer && out.startsWith('ready\n')) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited with ${code}/${signal}: ${err}`));
      const acked: Acked = { retained: new Map(), queue: [], history: new Map() };
      const lines = out.split('\n');
      lines.pop(); // a line cut by the kill is not an acknowledgement
      for (const line of lines) {
        const [kind, a, b] = line.split(' ');
        if (kind === 'r') acked.retained.set(a, Number(b));
        else if (kind === 'q') acked.queue.push(a);
        else if (kind === 'h') acked.history.set(Number(a), b);
      }
      resolve(acked);
    });
  });
}

test('SIGKILL of a writing process loses no acknowledged write', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-durable-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const allQueued: string[] = [];
  for (let round = 0; round < 3; round++) {
    const killAfter = 150 + Math.floor(Math.random() * 900);
    const acked = await runAndKill(dir, round, killAfter);
    t.log(`round ${round}: killed after ${killAfter} ms; acked ${acked.retained.size} retained, ${acked.queue.length} queue items, ${acked.history.size} events`);
    t.true(acked.retained.size > 0, 'the writer got some writes acknowledged');

    const store = await openStore({ dataDir: dir });
    try {
      let missing = 0;
      for (const [key, version] of acked.retained) {
        const rec = await store.getRetained(R, key);
        if (!rec || rec.version !== version || Buffer.from(rec.value).toString() !== `v${key.split('/')[2]}`) missing++;
      }
      t.is(missing, 0, 'every acknowledged retained write is there');

      const events = await store.readHistory(R, { topics: ['hist'] });
      const byId = new Map(events.map((e) => [e.id, Buffer.from(e.value).toString()]));
      for (const [id, item] of acked.history) if (byId.get(id) !== item) missing++;
      t.is(missing, 0, 'every acknowledged history event is there');

      // Queue items of this round: every acknowledged one is present (possibly more: committed but
      // killed before printing). Drain with ack=false and ack them, keeping order per priority.
      const present = new Set<string>();
      const stat = await store.queueStat(R, 'durable');
      const total = stat ? stat.ready[0] + stat.ready[1] + stat.ready[2] : 0;
      const drained: string[] = [];
      for (let i = 0; i < total; i++) {
        const item = await store.queueGet(R, 'durable');
        if (item) drained.push(Buffer.from(item.value).toString());
      }
      for (const item of drained) present.add(item);
      for (const item of acked.queue) if (!present.has(item)) missing++;
      t.is(missing, 0, 'every acknowledged queue item is there');
      // FIFO within each priority: sequence numbers ascend
      for (const p of [0, 1, 2]) {
        const seqs = drained.filter((s) => Number(s.split(':')[1]) % 3 === p).map((s) => Number(s.split(':')[1]));
        t.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
      }
      allQueued.push(...drained);
    } finally {
      await store.close();
    }
  }
  t.true(allQueued.length > 0);
});
