// Found while building the websocket fuzz door (a run of one frame repeated thousands of times):
// a fragmented message that never ends, made of empty continuation frames, grows the router's memory
// by about 130 MiB per million frames (6 MB on the wire) although the message itself stays empty.
// Expected: a limit on the fragments of one message (close 1009/1002), and memory that stays put.
import test from 'ava';
import { assertSurvived, fuzzRouter, sendRaw } from '../../helpers/fuzz-regression.ts';
import { upgradeRequest, wsFrame } from '../doors/framing.ts';

const key = Uint8Array.of(1, 2, 3, 4);

test('a million empty continuation frames do not grow the router by more than 32 MiB', async (t) => {
  t.timeout(120_000);
  const router = await fuzzRouter(t);
  const first = wsFrame({ fin: false, rsv: 0, opcode: 1, key, lengthDelta: 0, lengthForm: 7 }, Buffer.from('['));
  const empty = wsFrame({ fin: false, rsv: 0, opcode: 0, key, lengthDelta: 0, lengthForm: 7 }, Buffer.alloc(0));
  const run = Buffer.alloc(empty.length * 100_000);
  for (let i = 0; i < 100_000; i++) empty.copy(run, i * empty.length);
  const before = router.rss();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, router.rss())), 50);
  await sendRaw(router, 'http', [upgradeRequest('/ws', 'wamp.2.json'), first, ...Array.from({ length: 10 }, () => run)], 3000);
  clearInterval(sampler);
  const grown = (peak - before) / 1048576;
  t.true(grown < 32, `RSS grew by ${grown.toFixed(0)} MiB`);
  await assertSurvived(t, router);
});
