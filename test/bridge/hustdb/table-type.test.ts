// hustdb bridge: a table has one type, claimed by its first write inside the store operation that
// writes it, so concurrent first writes of different types to a fresh table cannot both succeed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { type DbAnswer, type Hustdb, startHustdb } from '../../helpers/hustdb.ts';
import { parseResponse, rawConnect, untilClosed } from '../../helpers/sockets.ts';
import { sleep } from '../../helpers/wait.ts';

const N = 50;

async function startOn(t: ExecutionContext, engine: 'memory' | 'sqlite'): Promise<Hustdb> {
  if (engine === 'memory') return startHustdb(t);
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-hustdb-type-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return startHustdb(t, {}, undefined, { memory: false, dataDir: dir });
}

for (const engine of ['memory', 'sqlite'] as const) {
  test(`${engine}: ${N} hset and ${N} sadd/zadd in parallel to fresh tables: one type wins each table, nothing half-written`, async (t) => {
    const db = await startOn(t, engine);
    for (const [round, other] of [
      [0, 'sadd'],
      [1, 'zadd'],
      [2, 'sadd'],
      [3, 'zadd'],
    ] as const) {
      const tb = `race${round}`;
      const hash = (i: number): Promise<DbAnswer> => db.req(`/hset?tb=${tb}&key=f${i}`, { method: 'POST', body: `v${i}` });
      const coll = (i: number): Promise<DbAnswer> =>
        other === 'sadd' ? db.req(`/sadd?tb=${tb}`, { method: 'POST', body: `m${i}` }) : db.req(`/zadd?tb=${tb}&key=m${i}&score=${i}`);
      // interleaved, so first writes of both types are in flight together
      const answers = await Promise.all(Array.from({ length: 2 * N }, (_, i) => (i % 2 === round % 2 ? hash(i >> 1) : coll(i >> 1))));
      const hashOk = answers.filter((a, i) => i % 2 === round % 2 && a.status === 200).length;
      const collOk = answers.filter((a, i) => i % 2 !== round % 2 && a.status === 200).length;
      t.true(answers.every((a) => a.status === 200 || a.status === 404), 'each write succeeds or gets the spec’s 404');
      t.true((hashOk === N && collOk === 0) || (hashOk === 0 && collOk === N), `${tb}: ${hashOk} hset and ${collOk} ${other} succeeded`);
      for (const a of answers) if (a.status === 404) t.regex(a.text, /table 'race\d' /);
      // what the table holds is the winner's writes, all of them, and nothing of the loser's
      const fields = JSON.parse((await db.req(`/hkeys?peer=0&tb=${tb}&offset=0&size=1000`)).text) as unknown[];
      const members =
        other === 'sadd'
          ? await db.req(`/smembers?peer=0&tb=${tb}&offset=0&size=1000`)
          : await db.req(`/zrangebyrank?peer=0&tb=${tb}&offset=0&size=1000`);
      if (hashOk === N) {
        t.is(fields.length, N);
        t.is(members.text, '[]', 'no member of the losing type was kept');
      } else {
        t.is(fields.length, 0);
        t.is((JSON.parse(members.text) as unknown[]).length, N);
      }
      const stat = JSON.parse((await db.req(`/stat?peer=0&tb=${tb}`)).text) as { type: string; count: number };
      t.deepEqual(stat.type, hashOk === N ? 'H' : other === 'sadd' ? 'S' : 'Z');
      t.is(stat.count, N);
    }
  });
}

for (const engine of ['memory', 'sqlite'] as const) {
  test(`${engine}: an hset whose body is still on its way loses to a sadd that creates the table meanwhile`, async (t) => {
    const db = await startOn(t, engine);
    const socket = await rawConnect(t, Number(new URL(db.base).port));
    const answered = untilClosed(socket);
    socket.write('POST /hset?tb=slow&key=f HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\n');
    // the hset has started and waits for its body (a check of the table's type made now would be stale)
    await sleep(300);
    t.is((await db.req('/sadd?tb=slow', { method: 'POST', body: 'm' })).status, 200);
    socket.write('value');
    const r = parseResponse((await answered).data);
    t.is(r.status, 404);
    t.regex(r.body, /'slow' is a set or sorted set/);
    t.is((await db.req('/hkeys?peer=0&tb=slow&offset=0&size=10')).text, '[]');
    t.is((await db.req('/hget?tb=slow&key=f')).status, 404);
    t.is((JSON.parse((await db.req('/smembers?peer=0&tb=slow&offset=0&size=10')).text) as unknown[]).length, 1);
  });
}

test('hincrby on a set is refused, and a set of a hash’s name too, by the store', async (t) => {
  const db = await startHustdb(t);
  t.is((await db.req('/sadd?tb=s', { method: 'POST', body: 'm' })).status, 200);
  const r = await db.req('/hincrby?tb=s&key=n&val=1');
  t.is(r.status, 404);
  t.regex(r.text, /'s' is a set or sorted set/);
  t.is((await db.req('/hset?tb=h&key=f&val=1')).status, 200);
  t.is((await db.req('/zadd?tb=h&key=m&score=1')).status, 404);
  t.is((await db.req('/hdel?tb=h&key=f')).status, 200);
  t.is((await db.req('/zadd?tb=h&key=m&score=1')).status, 200, 'a hash whose last field is gone frees its name');
  t.is((await db.req('/hget?tb=s&key=n')).status, 404, 'nothing of the refused hincrby was kept');
});
