// esub on the router: WAMP clients and HTTP esub clients meet on esub.<key>. A WAMP client answers
// an HTTP sub by calling the procedure; an HTTP rep reaches a WAMP callee that registered it.
import test from 'ava';
import { keyComponent, keyOfProcedure, procedureOf } from '../../../bridge/esub/index.ts';
import { keys, psub, rep, startEsub, sub } from '../../helpers/esub.ts';
import { connectAutobahn } from '../../helpers/wamp.ts';

test('the key encoding is one URI component and reversible', (t) => {
  t.is(procedureOf('5f0c9a2e-1b7d-4c1e-9b7a-2f4d1c3e5a6b'), 'esub.5f0c9a2e-1b7d-4c1e-9b7a-2f4d1c3e5a6b');
  t.is(keyComponent('a.b c#d%'), 'a%2Eb%20c%23d%25');
  for (const key of ['a.b', 'with space', 'ünï', '%2E', 'x!~*()', 'tab\there']) {
    const p = procedureOf(key);
    t.is(p.split('.').length, 2, key);
    t.false(/[\s#]/.test(p), key);
    t.is(keyOfProcedure(p), key);
  }
  t.is(keyOfProcedure('other.x'), undefined);
  t.is(keyOfProcedure('esub.a.b'), undefined);
});

test('a WAMP client answers an HTTP sub by calling esub.<key>', async (t) => {
  const s = await startEsub(t);
  const session = await connectAutobahn(t, s.server.urls);
  const w = await sub(s.base, 'job.42');
  await session.call(procedureOf('job.42'), [{ status: 'done', n: 42 }]);
  const a = await w.answer;
  t.is(a.status, 200);
  t.deepEqual(JSON.parse(a.body), { status: 'done', n: 42 });
  // the one-shot registration is used up
  const err = await session.call(procedureOf('job.42'), ['again']).then(
    () => undefined,
    (e: { error?: string }) => e.error,
  );
  t.is(err, 'wamp.error.no_such_procedure');
});

test('an HTTP rep reaches a WAMP callee of esub.<key>; a JSON body arrives parsed', async (t) => {
  const s = await startEsub(t);
  const session = await connectAutobahn(t, s.server.urls);
  const got: unknown[] = [];
  await session.register('esub.reports', (args) => {
    got.push(args?.[0]);
    return 'ack';
  });
  t.is((await rep(s.base, 'reports', '{"x":1}')).status, 200);
  t.is((await rep(s.base, 'reports', 'plain text')).status, 200);
  t.deepEqual(got[0], { x: 1 });
  // a WAMP callee has no token: only the empty token matches
  const r = await rep(s.base, 'reports', 'x', '?token=t');
  t.is(r.status, 403);
  t.is(r.body, 'Invalid token');
  // HEAD /rep finds the key held by the WAMP callee
  const head = await fetch(`${s.base}/rep/reports`, { method: 'HEAD' });
  t.is(head.status, 200);
});

test('an error from a WAMP callee becomes a 500 naming it', async (t) => {
  const s = await startEsub(t);
  const session = await connectAutobahn(t, s.server.urls);
  await session.register('esub.fails', () => {
    throw new Error('nope');
  });
  const r = await rep(s.base, 'fails', 'x');
  t.is(r.status, 500);
  t.regex(r.body, /^Failed to deliver: /);
});

test('a WAMP client joins an HTTP shared psub pool (wildcard, roundrobin)', async (t) => {
  const s = await startEsub(t);
  const m = await psub(t, s, 'mixed', '?shared=1');
  const session = await connectAutobahn(t, s.server.urls);
  const wampGot: unknown[] = [];
  await session.register(
    'esub.mixed',
    (args) => {
      wampGot.push(args?.[0]);
    },
    { match: 'wildcard', invoke: 'roundrobin' } as never,
  );
  for (let i = 0; i < 4; i++) t.is((await rep(s.base, 'mixed', `"m${i}"`)).status, 200);
  await m.count(2);
  t.deepEqual(m.texts(), ['"m0"', '"m2"']);
  t.deepEqual(wampGot, ['m1', 'm3']);
  t.deepEqual(await keys(s.base), ['mixed']);
});
