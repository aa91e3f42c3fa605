// MQTT ⇄ WAMP payloads as the README's table says, with real clients: mqtt.js (3.1.1 and 5) and
// autobahn (JSON and MessagePack) for every row in both directions, the MQTT → WAMP → MQTT round
// trip through a WAMP client that publishes what it receives, and MQTT 5 properties seen and set by
// WAMP clients through the `_mqtt` attribute (wampy shows EVENT details; autobahn does not).
import test, { type ExecutionContext } from 'ava';
import type autobahn from 'autobahn';
import { Wampy } from 'wampy';
import WebSocket from 'ws';
import { collect, connect, uniqueId } from '../helpers/mqtt-harness.ts';
import { startTestServer } from '../helpers/server.ts';
import { connectAutobahn, type SerializerName } from '../helpers/wamp.ts';
import { deferred } from '../helpers/autobahn.ts';

const NOT_UTF8 = Buffer.from([0x00, 0xff, 0x80, 0x7b, 0x22]);

/** MQTT payload → what a WAMP subscriber gets as args (binary compared as bytes). */
const TO_WAMP: { name: string; mqtt: Buffer; args: unknown[] }[] = [
  { name: 'empty', mqtt: Buffer.alloc(0), args: [] },
  { name: 'text', mqtt: Buffer.from('open'), args: ['open'] },
  { name: 'utf8text', mqtt: Buffer.from('grüße aus Köln'), args: ['grüße aus Köln'] },
  { name: 'quoted', mqtt: Buffer.from('"open"'), args: ['open'] },
  { name: 'number', mqtt: Buffer.from('21.5'), args: [21.5] },
  { name: 'true', mqtt: Buffer.from('true'), args: [true] },
  { name: 'null', mqtt: Buffer.from('null'), args: [null] },
  { name: 'object', mqtt: Buffer.from('{"t":21.5,"on":true}'), args: [{ t: 21.5, on: true }] },
  { name: 'array', mqtt: Buffer.from('[1,"a",null]'), args: [[1, 'a', null]] },
  { name: 'binary', mqtt: NOT_UTF8, args: [NOT_UTF8] },
];

/** WAMP args/kwargs → the bytes an MQTT subscriber gets. `binary` marks a binary first argument. */
const TO_MQTT: { name: string; args?: unknown[]; kwargs?: Record<string, unknown>; mqtt: Buffer }[] = [
  { name: 'none', mqtt: Buffer.alloc(0) },
  { name: 'string', args: ['open'], mqtt: Buffer.from('open') },
  { name: 'utf8string', args: ['grüße'], mqtt: Buffer.from('grüße') },
  { name: 'number', args: [21.5], mqtt: Buffer.from('21.5') },
  { name: 'false', args: [false], mqtt: Buffer.from('false') },
  { name: 'null', args: [null], mqtt: Buffer.from('null') },
  { name: 'object', args: [{ t: 21.5 }], mqtt: Buffer.from('{"t":21.5}') },
  { name: 'array', args: [[1, 'a']], mqtt: Buffer.from('[1,"a"]') },
  { name: 'binary', args: [NOT_UTF8], mqtt: NOT_UTF8 },
  { name: 'kwargs', kwargs: { a: 1 }, mqtt: Buffer.from('{"a":1}') },
  { name: 'several', args: ['a', 2], kwargs: { k: 'v' }, mqtt: Buffer.from('{"args":["a",2],"kwargs":{"k":"v"}}') },
];

/** Binary as a WAMP client of this serializer sees it (JSON: WAMP's "\u0000" + base64 string). */
function fromWamp(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (typeof v === 'string' && v.startsWith('\u0000')) return Buffer.from(v.slice(1), 'base64');
  return v;
}

function toWamp(v: unknown, serializer: SerializerName): unknown {
  if (!Buffer.isBuffer(v)) return v;
  return serializer === 'json' ? `\u0000${v.toString('base64')}` : new Uint8Array(v);
}

async function server(t: ExecutionContext): Promise<Record<string, string>> {
  return (await startTestServer(t, undefined, { mqttPort: 0 })).urls;
}

for (const version of [4, 5] as const) {
  for (const serializer of ['json', 'msgpack'] as const) {
    test(`MQTT ${version === 4 ? '3.1.1' : '5'} ⇄ WAMP ${serializer}: every row of the table, both ways`, async (t) => {
      const urls = await server(t);
      const id = uniqueId('pm').replaceAll('-', '_');
      const session = await connectAutobahn(t, urls, { serializer });
      const mqttClient = await connect(urls.mqtt as string, { protocolVersion: version });
      t.teardown(() => mqttClient.endAsync());

      // MQTT → WAMP
      const events = new Map<string, unknown[]>();
      const all = deferred();
      await session.subscribe(
        `pm.${id}.in`,
        (args, _kwargs, details) => {
          events.set(((details as autobahn.IEvent).topic as string).split('.').pop() as string, (args ?? []).map(fromWamp));
          if (events.size === TO_WAMP.length) all.resolve();
        },
        { match: 'prefix' },
      );
      for (const row of TO_WAMP) await mqttClient.publishAsync(`pm/${id}/in/${row.name}`, row.mqtt, { qos: 1 });
      await all.promise;
      for (const row of TO_WAMP) t.deepEqual(events.get(row.name), row.args, `MQTT → WAMP: ${row.name}`);

      // WAMP → MQTT
      const got = collect(mqttClient);
      await mqttClient.subscribeAsync(`pm/${id}/out/#`, { qos: 1 });
      for (const row of TO_MQTT) {
        await session.publish(`pm.${id}.out.${row.name}`, row.args?.map((v) => toWamp(v, serializer)), row.kwargs, { acknowledge: true });
      }
      await got.waitFor(TO_MQTT.length);
      for (const row of TO_MQTT) {
        t.deepEqual(got.messages.find((m) => m.topic === `pm/${id}/out/${row.name}`)?.payload, row.mqtt, `WAMP → MQTT: ${row.name}`);
      }
    });
  }
}

/** Payloads for the round trip, and what comes back when it is not the same bytes. */
const ROUND_TRIP: { name: string; mqtt: Buffer; back?: Buffer }[] = [
  ...TO_WAMP.filter((r) => r.name !== 'quoted').map((r) => ({ name: r.name, mqtt: r.mqtt })),
  { name: 'quoted', mqtt: Buffer.from('"open"'), back: Buffer.from('open') },
  { name: 'spaced', mqtt: Buffer.from('{ "a" : 1 }'), back: Buffer.from('{"a":1}') },
  { name: 'notjson', mqtt: Buffer.from('{"a":1'), back: undefined },
  { name: 'bom', mqtt: Buffer.from('\ufeff21'), back: undefined },
];

for (const serializer of ['json', 'msgpack'] as const) {
  test(`MQTT → WAMP ${serializer} → MQTT: the bytes come back, a quoted string as its text, JSON respelled canonically`, async (t) => {
    const urls = await server(t);
    const id = uniqueId('rt').replaceAll('-', '_');
    const session = await connectAutobahn(t, urls, { serializer });
    // the WAMP client publishes every event it gets, as it got it
    await session.subscribe(
      `rt.${id}.in`,
      (args, kwargs, details) => void session.publish(`rt.${id}.out.${((details as autobahn.IEvent).topic as string).split('.').pop()}`, args, kwargs),
      { match: 'prefix' },
    );
    const sub = await connect(urls.mqtt as string, { protocolVersion: 5 });
    t.teardown(() => sub.endAsync());
    const got = collect(sub);
    await sub.subscribeAsync(`rt/${id}/out/#`, { qos: 1 });
    const pub = await connect(urls.mqtt as string, { protocolVersion: 4 });
    t.teardown(() => pub.endAsync());
    for (const row of ROUND_TRIP) await pub.publishAsync(`rt/${id}/in/${row.name}`, row.mqtt, { qos: 1 });
    await got.waitFor(ROUND_TRIP.length);
    for (const row of ROUND_TRIP) {
      t.deepEqual(got.messages.find((m) => m.topic === `rt/${id}/out/${row.name}`)?.payload, row.back ?? row.mqtt, row.name);
    }
  });
}

type WampyOptions = ConstructorParameters<typeof Wampy>[1];

async function connectWampy(t: ExecutionContext, urls: Record<string, string>): Promise<Wampy> {
  const w = new Wampy(urls.wamp as string, { realm: 'realm1', autoReconnect: false, ws: WebSocket as unknown as NonNullable<WampyOptions>['ws'] });
  await w.connect();
  t.teardown(async () => {
    await w.disconnect().catch(() => undefined);
  });
  return w;
}

test('MQTT 5 properties reach WAMP subscribers in EVENT.Details._mqtt', async (t) => {
  const urls = await server(t);
  const id = uniqueId('pp').replaceAll('-', '_');
  const w = await connectWampy(t, urls);
  const seen = deferred<{ details: Record<string, unknown>; argsList?: unknown[] }>();
  await w.subscribe(`pp.${id}`, (e: { details: Record<string, unknown>; argsList?: unknown[] }) => seen.resolve(e));
  const pub = await connect(urls.mqtt as string, { protocolVersion: 5 });
  t.teardown(() => pub.endAsync());
  await pub.publishAsync(`pp/${id}`, 'on', {
    qos: 1,
    properties: {
      contentType: 'text/plain',
      payloadFormatIndicator: true,
      responseTopic: `pp/${id}/reply`,
      correlationData: Buffer.from([1, 2, 3]),
      userProperties: { room: 'kitchen', tag: ['a', 'b'] },
      messageExpiryInterval: 600,
    },
  });
  const e = await seen.promise;
  t.deepEqual(e.argsList, ['on']);
  const mqtt = e.details._mqtt as Record<string, unknown>;
  t.like(mqtt, { content_type: 'text/plain', payload_format_indicator: 1, response_topic: `pp/${id}/reply`, user_properties: { room: 'kitchen', tag: ['a', 'b'] } });
  t.deepEqual(fromWamp(mqtt.correlation_data), Buffer.from([1, 2, 3]));
  t.true((mqtt.message_expiry_interval as number) > 590 && (mqtt.message_expiry_interval as number) <= 600);

  // a 3.1.1 publisher has no properties: no _mqtt at all
  const seen2 = deferred<{ details: Record<string, unknown> }>();
  await w.subscribe(`pp.${id}.plain`, (e2: { details: Record<string, unknown> }) => seen2.resolve(e2));
  const old = await connect(urls.mqtt as string, { protocolVersion: 4 });
  t.teardown(() => old.endAsync());
  await old.publishAsync(`pp/${id}/plain`, 'x', { qos: 1 });
  t.is((await seen2.promise).details._mqtt, undefined);
});

for (const serializer of ['json', 'msgpack'] as const) {
  test(`WAMP ${serializer} publish options _mqtt set MQTT 5 properties; 3.1.1 subscribers get the payload alone`, async (t) => {
    const urls = await server(t);
    const id = uniqueId('ps').replaceAll('-', '_');
    const v5 = await connect(urls.mqtt as string, { protocolVersion: 5 });
    const v4 = await connect(urls.mqtt as string, { protocolVersion: 4 });
    t.teardown(() => Promise.all([v5.endAsync(), v4.endAsync()]));
    const got5 = collect(v5);
    const got4 = collect(v4);
    await v5.subscribeAsync(`ps/${id}`, { qos: 1 });
    await v4.subscribeAsync(`ps/${id}`, { qos: 1 });
    const session = await connectAutobahn(t, urls, { serializer });
    await session.publish(`ps.${id}`, ['open'], undefined, {
      acknowledge: true,
      _mqtt: {
        content_type: 'text/plain',
        payload_format_indicator: 1,
        response_topic: `ps/${id}/reply`,
        correlation_data: toWamp(Buffer.from([9, 8]), serializer),
        user_properties: { room: 'hall' },
        message_expiry_interval: 300,
      },
    } as autobahn.IPublishOptions);
    const [m5] = await got5.waitFor(1);
    const [m4] = await got4.waitFor(1);
    t.deepEqual(m5?.payload, Buffer.from('open'));
    t.like(m5?.properties, { contentType: 'text/plain', payloadFormatIndicator: true, responseTopic: `ps/${id}/reply`, userProperties: { room: 'hall' } });
    t.deepEqual(m5?.properties?.correlationData, Buffer.from([9, 8]));
    t.true((m5?.properties?.messageExpiryInterval as number) > 290);
    t.deepEqual(m4?.payload, Buffer.from('open'));
    t.is(m4?.properties, undefined);

    // a bad value is refused with invalid_argument, naming the option
    const err = (await session.publish(`ps.${id}`, ['x'], undefined, { acknowledge: true, _mqtt: { response_topic: 'a/#' } } as autobahn.IPublishOptions).then(
      () => undefined,
      (e: autobahn.Error) => e,
    )) as autobahn.Error | undefined;
    t.is(err?.error, 'wamp.error.invalid_argument');
    t.regex(String(err?.args[0]), /_mqtt\.response_topic/);
  });
}
