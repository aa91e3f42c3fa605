// Limits.maxTopicLevels / maxTopicLength at every WAMP door: PUBLISH, SUBSCRIBE, REGISTER, CALL and
// the meta API's URI arguments obey the configured limits (smaller or larger than the defaults):
// past them the request gets ERROR wamp.error.invalid_uri, counted as a limit refusal, and the
// session carries on.
import test, { type ExecutionContext } from 'ava';
import type autobahn from 'autobahn';
import { deferred, openAutobahn, opts } from '../helpers/autobahn.ts';
import { startTestServer } from '../helpers/server.ts';

const INVALID_URI = 'wamp.error.invalid_uri';
const LEVELS = 4;
const LENGTH = 40;

/** A URI of `levels` components, padded in its last component to exactly `length` characters. */
function uri(levels: number, length: number): string {
  const head = Array.from({ length: levels - 1 }, (_, i) => `u${i}`).join('.');
  const prefix = levels > 1 ? `${head}.` : '';
  return prefix + 'x'.repeat(length - prefix.length);
}

const atLimit = uri(LEVELS, LENGTH);
const tooDeep = uri(LEVELS + 1, 20);
const tooLong = uri(2, LENGTH + 1);

async function refusedWith(t: ExecutionContext, p: PromiseLike<unknown>, what: string): Promise<void> {
  const err = await Promise.resolve(p).then(
    () => undefined,
    (e: unknown) => e as { error?: string },
  );
  t.is(err?.error, INVALID_URI, what);
}

async function start(t: ExecutionContext, limits: Record<string, number>, rawsocket = false): Promise<{ session: autobahn.Session; refusals: () => number }> {
  const server = await startTestServer(t, { limits });
  const { session } = await openAutobahn(t, server.urls, { rawsocket });
  return { session, refusals: () => server.router.stats.limitRefusals };
}

for (const rawsocket of [false, true]) {
  const door = rawsocket ? 'RawSocket' : 'WebSocket';

  test(`${door}: PUBLISH past maxTopicLevels / maxTopicLength is invalid_uri, at the limits it is delivered`, async (t) => {
    const { session, refusals } = await start(t, { maxTopicLevels: LEVELS, maxTopicLength: LENGTH }, rawsocket);
    const got = deferred<unknown[]>();
    await session.subscribe(atLimit, (args) => got.resolve(args ?? []));
    await session.publish(atLimit, [1], {}, { acknowledge: true, exclude_me: false });
    t.deepEqual(await got.promise, [1]);
    await refusedWith(t, session.publish(tooDeep, [1], {}, { acknowledge: true }), 'too deep');
    await refusedWith(t, session.publish(tooLong, [1], {}, { acknowledge: true }), 'too long');
    t.is(refusals(), 2);
  });

  test(`${door}: SUBSCRIBE (exact, prefix, wildcard) past the limits is invalid_uri`, async (t) => {
    const { session, refusals } = await start(t, { maxTopicLevels: LEVELS, maxTopicLength: LENGTH }, rawsocket);
    await session.subscribe(atLimit, () => {});
    for (const match of ['exact', 'prefix', 'wildcard']) {
      await refusedWith(t, session.subscribe(tooDeep, () => {}, opts({ match })), `${match} too deep`);
      await refusedWith(t, session.subscribe(tooLong, () => {}, opts({ match })), `${match} too long`);
    }
    t.is(refusals(), 6);
  });

  test(`${door}: REGISTER and CALL past the limits are invalid_uri, at the limits they work`, async (t) => {
    const { session, refusals } = await start(t, { maxTopicLevels: LEVELS, maxTopicLength: LENGTH }, rawsocket);
    await session.register(atLimit, () => 'ok');
    t.is(await session.call(atLimit), 'ok');
    for (const match of ['exact', 'prefix', 'wildcard']) {
      await refusedWith(t, session.register(tooDeep, () => 'no', opts({ match })), `register ${match} too deep`);
      await refusedWith(t, session.register(tooLong, () => 'no', opts({ match })), `register ${match} too long`);
    }
    await refusedWith(t, session.call(tooDeep), 'call too deep');
    await refusedWith(t, session.call(tooLong), 'call too long');
    t.is(refusals(), 8);
    t.is(await session.call(atLimit), 'ok', 'the session carries on');
  });
}

test('the meta API parses its URI arguments under the configured limits', async (t) => {
  const { session } = await start(t, { maxTopicLevels: LEVELS, maxTopicLength: LENGTH });
  t.is(await session.call('wamp.subscription.match', [atLimit]), null);
  for (const procedure of ['wamp.subscription.match', 'wamp.subscription.lookup', 'wamp.registration.match', 'wamp.registration.lookup']) {
    await refusedWith(t, session.call(procedure, [tooDeep]), `${procedure} too deep`);
    await refusedWith(t, session.call(procedure, [tooLong]), `${procedure} too long`);
  }
  await refusedWith(t, session.call('wamp.session.add_testament', [tooLong, [], {}]), 'add_testament too long');
});

test('limits larger than the defaults let deeper URIs through every door', async (t) => {
  const levels = 300; // past the default 128
  const { session } = await start(t, { maxTopicLevels: levels });
  const deep = uri(levels, 2000);
  const got = deferred<unknown[]>();
  await session.subscribe(deep, (args) => got.resolve(args ?? []));
  await session.publish(deep, ['deep'], {}, { acknowledge: true, exclude_me: false });
  t.deepEqual(await got.promise, ['deep']);
  await session.register(deep, () => 'deep');
  t.is(await session.call(deep), 'deep');
  await refusedWith(t, session.publish(uri(levels + 1, 2000), [1], {}, { acknowledge: true }), 'one level more');
});
