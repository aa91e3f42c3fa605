// /prep: the persistent producer socket. JSON {key, token, psub, data} per message, handled like
// /rep one at a time; receipt mode answers `ok` or the error text; bad messages close with 1007.
import test from 'ava';
import { parsePrep } from '../../../bridge/esub/prep.ts';
import { connectWs, http, psub, startEsub, sub, waitFor } from '../../helpers/esub.ts';

test('receipt mode: each message is answered ok or with the error text, in order', async (t) => {
  const s = await startEsub(t, { confirmReceipt: true, storeMode: 'none' });
  const w = await sub(s.base, 'p1', '?token=t');
  const m = await psub(t, s, 'p2', '', { receipts: true });
  const prep = await connectWs(t, `${s.ws}/prep`);
  const send = (o: unknown): void => prep.ws.send(JSON.stringify(o));
  send({ key: 'p1', token: 'wrong', psub: false, data: 'x' });
  send({ key: 'p1', token: 't', psub: false, data: 'for the sub' });
  send({ key: 'p1', token: 't', psub: null, data: 'again' });
  send({ key: 'p2', token: null, psub: true, data: 'for the psub' });
  send({ key: '', data: 'no key' });
  await prep.count(5);
  t.deepEqual(prep.texts(), ['Invalid token', 'ok', 'Unknown key', 'ok', 'Invalid key: empty']);
  t.is((await w.answer).body, 'for the sub');
  await m.count(1);
  t.deepEqual(m.texts(), ['for the psub']);
});

test('keepalive mode: messages are delivered and nothing is answered', async (t) => {
  const s = await startEsub(t);
  const m = await psub(t, s, 'quiet');
  const prep = await connectWs(t, `${s.ws}/prep`);
  for (let i = 0; i < 5; i++) prep.ws.send(JSON.stringify({ key: 'quiet', data: `d${i}` }));
  await m.count(5);
  t.deepEqual(m.texts(), ['d0', 'd1', 'd2', 'd3', 'd4']);
  t.is(prep.messages.length, 0);
  const metrics = (await http(`${s.base}/metrics`)).body;
  t.regex(metrics, /esub_prep_connected 1/);
});

test('bad JSON or wrong field types close the socket with 1007 naming the problem; the server carries on', async (t) => {
  const s = await startEsub(t, { confirmReceipt: true });
  const cases: [string, string][] = [
    ['{not json', 'invalid message: not JSON'],
    ['[1,2]', 'invalid message: not a JSON object'],
    ['{"key": 5}', "invalid message: 'key' must be a string"],
    ['{"key": "k", "psub": "yes"}', "invalid message: 'psub' must be a boolean"],
  ];
  for (const [text, reason] of cases) {
    const prep = await connectWs(t, `${s.ws}/prep`);
    prep.ws.send(text);
    t.deepEqual(await prep.closed, { code: 1007, reason });
  }
  t.is((await http(`${s.base}/ping`)).body, 'OK');
});

test('messages sent before a close are still handled', async (t) => {
  const s = await startEsub(t);
  const m = await psub(t, s, 'flush');
  const prep = await connectWs(t, `${s.ws}/prep`);
  for (let i = 0; i < 20; i++) prep.ws.send(JSON.stringify({ key: 'flush', data: String(i) }));
  prep.ws.close(1000);
  await m.count(20);
  t.deepEqual(m.texts(), Array.from({ length: 20 }, (_, i) => String(i)));
  await waitFor(async () => /esub_prep_connected 0/.test((await http(`${s.base}/metrics`)).body));
});

test('parsePrep: null fields are zero values', (t) => {
  t.deepEqual(parsePrep(Buffer.from('{"key":"k","token":null,"psub":null,"data":null}')), { key: 'k', token: '', psub: false, data: '' });
  t.deepEqual(parsePrep(Buffer.from('{}')), { key: '', token: '', psub: false, data: '' });
});
