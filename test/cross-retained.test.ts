// Retained round trips across WAMP (autobahn, JSON and MessagePack) and MQTT (mqtt.js), on the
// memory and the SQLite engine: JSON and binary payloads keep their bytes exactly. An MQTT payload
// that is not UTF-8 reaches WAMP as binary (MessagePack bin; the JSON serializer's "\u0000"+base64
// string), UTF-8 that is not JSON as a string, and both come back to MQTT byte-identical; on SQLite
// the values also survive a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type autobahn from 'autobahn';
import { silentLogger } from '../lib/core/log.ts';
import { defaultConfig } from '../server/config.ts';
import { type RunningServer, startServer } from '../server/server.ts';
import { collect, connect, sleep, uniqueId } from './helpers/mqtt-harness.ts';
import { connectAutobahn, type SerializerName } from './helpers/wamp.ts';

type Engine = 'memory' | 'sqlite';

interface Started {
  server: RunningServer;
  /** SQLite: stops this server and starts another on the same data directory. */
  restart(): Promise<RunningServer>;
}

async function start(t: ExecutionContext, engine: Engine): Promise<Started> {
  const dir = engine === 'sqlite' ? mkdtempSync(join(tmpdir(), 'kitsune-xret-')) : undefined;
  if (dir) t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const open = async (): Promise<RunningServer> => {
    const server = await startServer({ ...defaultConfig(), port: 0, mqttPort: 0, memory: engine === 'memory', dataDir: dir ?? './unused' }, silentLogger);
    t.teardown(() => server.close());
    return server;
  };
  const started: Started = {
    server: await open(),
    async restart() {
      await started.server.close();
      started.server = await open();
      return started.server;
    },
  };
  return started;
}

/** Retained events of a WAMP prefix subscription, by topic. */
async function wampRetained(t: ExecutionContext, urls: Record<string, string>, serializer: SerializerName, prefix: string, n: number): Promise<Map<string, { args: unknown[]; kwargs: Record<string, unknown> }>> {
  const session = await connectAutobahn(t, urls, { serializer });
  const seen = new Map<string, { args: unknown[]; kwargs: Record<string, unknown> }>();
  const sub = await session.subscribe(
    prefix,
    (args, kwargs, details) => void seen.set((details as autobahn.IEvent).topic as string, { args: args ?? [], kwargs: (kwargs ?? {}) as Record<string, unknown> }),
    { match: 'prefix', get_retained: true } as object,
  );
  const deadline = Date.now() + 5000;
  while (seen.size < n && Date.now() < deadline) await sleep(10);
  await session.unsubscribe(sub);
  return seen;
}

/** Retained MQTT messages under a filter, by topic. */
async function mqttRetained(url: string, filter: string, n: number): Promise<Map<string, { payload: Buffer; retain: boolean }>> {
  const c = await connect(url, { protocolVersion: 5 });
  const got = collect(c);
  await c.subscribeAsync(filter, { qos: 1 });
  await got.waitFor(n);
  await c.endAsync();
  return new Map(got.messages.map((m) => [m.topic, { payload: m.payload, retain: m.retain }]));
}

/** What a WAMP client gets for binary: bytes (MessagePack) or the JSON "\u0000"+base64 string. */
function wampBytes(v: unknown): Buffer | undefined {
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (typeof v === 'string' && v.startsWith('\u0000')) return Buffer.from(v.slice(1), 'base64');
  return undefined;
}

/** Binary for a WAMP publish through this serializer. */
function toWampBinary(bytes: Buffer, serializer: SerializerName): unknown {
  return serializer === 'json' ? `\u0000${bytes.toString('base64')}` : new Uint8Array(bytes);
}

const json = Buffer.from('{"n":1,"s":"grüße","l":[true,null,2.5],"o":{"k":"v"}}');
const binary = Buffer.from([0x00, 0xff, 0x80, 0x7b, 0x22, 0x0a]);
const text = Buffer.from('plain text, not JSON');

for (const engine of ['memory', 'sqlite'] as const) {
  for (const serializer of ['json', 'msgpack'] as const) {
    test(`${engine}, ${serializer}: MQTT retained → WAMP → MQTT keeps JSON and binary bytes exactly`, async (t) => {
      t.timeout(30_000);
      const s = await start(t, engine);
      const id = uniqueId('xr').replaceAll('-', '_');
      const mqttUrl = s.server.urls.mqtt as string;
      const pub = await connect(mqttUrl, { protocolVersion: 4 });
      await pub.publishAsync(`xr/${id}/json`, json, { qos: 1, retain: true });
      await pub.publishAsync(`xr/${id}/bin`, binary, { qos: 1, retain: true });
      await pub.publishAsync(`xr/${id}/text`, text, { qos: 1, retain: true });
      await pub.endAsync();

      const seen = await wampRetained(t, s.server.urls, serializer, `xr.${id}`, 3);
      t.deepEqual(seen.get(`xr.${id}.json`)?.args, [JSON.parse(json.toString())], 'JSON bytes arrive as the parsed value');
      t.deepEqual(wampBytes(seen.get(`xr.${id}.bin`)?.args[0]), binary, 'non-JSON bytes arrive as binary');
      t.deepEqual(seen.get(`xr.${id}.text`)?.args, [text.toString()], 'UTF-8 that is not JSON is a string');

      // The WAMP client publishes back exactly what it received, retained.
      const wamp = await connectAutobahn(t, s.server.urls, { serializer });
      for (const [topic, ev] of seen) {
        await wamp.publish(topic.replace(`xr.${id}`, `xr2.${id}`), ev.args, undefined, { acknowledge: true, retain: true } as autobahn.IPublishOptions);
      }
      const check = async (url: string, when: string): Promise<void> => {
        const back = await mqttRetained(url, `xr2/${id}/#`, 3);
        t.deepEqual(back.get(`xr2/${id}/json`)?.payload, json, `${when}: JSON byte-identical`);
        t.deepEqual(back.get(`xr2/${id}/bin`)?.payload, binary, `${when}: binary byte-identical`);
        t.deepEqual(back.get(`xr2/${id}/text`)?.payload, text, `${when}: text byte-identical`);
        t.true([...back.values()].every((m) => m.retain), `${when}: delivered with the retain flag`);
        const orig = await mqttRetained(url, `xr/${id}/#`, 3);
        t.deepEqual(orig.get(`xr/${id}/bin`)?.payload, binary, `${when}: MQTT → MQTT untouched`);
      };
      await check(mqttUrl, 'live');
      if (engine === 'sqlite') {
        const again = await s.restart();
        await check(again.urls.mqtt as string, 'after restart');
        const seen2 = await wampRetained(t, again.urls, serializer, `xr.${id}`, 3);
        t.deepEqual(wampBytes(seen2.get(`xr.${id}.bin`)?.args[0]), binary, 'after restart: WAMP still gets the bytes');
      }
    });

    test(`${engine}, ${serializer}: WAMP retained → MQTT → WAMP with JSON values and binary`, async (t) => {
      t.timeout(30_000);
      const s = await start(t, engine);
      const id = uniqueId('wr').replaceAll('-', '_');
      const wamp = await connectAutobahn(t, s.server.urls, { serializer });
      const opts = { acknowledge: true, retain: true } as autobahn.IPublishOptions;
      await wamp.publish(`wr.${id}.obj`, [{ a: 1, b: [true, null], c: 'ü' }], undefined, opts);
      await wamp.publish(`wr.${id}.kw`, [], { k: 'v', n: 2 }, opts);
      await wamp.publish(`wr.${id}.bin`, [toWampBinary(binary, serializer)], undefined, opts);
      await wamp.publish(`wr.${id}.many`, ['a', 2], undefined, opts);
      await wamp.publish(`wr.${id}.str`, ['just a string'], undefined, opts);

      const check = async (server: RunningServer, when: string): Promise<void> => {
        const got = await mqttRetained(server.urls.mqtt as string, `wr/${id}/#`, 5);
        t.deepEqual(got.get(`wr/${id}/obj`)?.payload, Buffer.from('{"a":1,"b":[true,null],"c":"ü"}'), `${when}: one arg → its JSON`);
        t.deepEqual(got.get(`wr/${id}/kw`)?.payload, Buffer.from('{"k":"v","n":2}'), `${when}: kwargs only → JSON(kwargs)`);
        t.deepEqual(got.get(`wr/${id}/bin`)?.payload, binary, `${when}: binary arg → the raw bytes`);
        t.deepEqual((JSON.parse(got.get(`wr/${id}/many`)?.payload.toString() ?? 'null') as { args: unknown[] }).args, ['a', 2], `${when}: several args → {args, kwargs}`);
        t.deepEqual(got.get(`wr/${id}/str`)?.payload, Buffer.from('just a string'), `${when}: a string arg → its UTF-8 text`);
        t.true([...got.values()].every((m) => m.retain), `${when}: delivered with the retain flag`);

        // MQTT publishes those bytes back (retained); WAMP sees the original values again.
        const m = await connect(server.urls.mqtt as string, { protocolVersion: 4 });
        for (const [topic, msg] of got) await m.publishAsync(topic.replace(`wr/${id}`, `wr3/${id}/${when.replace(/\W/g, '')}`), msg.payload, { qos: 1, retain: true });
        await m.endAsync();
        const seen = await wampRetained(t, server.urls, serializer, `wr3.${id}.${when.replace(/\W/g, '')}`, 5);
        const at = (name: string) => seen.get(`wr3.${id}.${when.replace(/\W/g, '')}.${name}`);
        t.deepEqual(at('obj')?.args, [{ a: 1, b: [true, null], c: 'ü' }], `${when}: object back in WAMP`);
        t.deepEqual(at('kw')?.args, [{ k: 'v', n: 2 }], `${when}: kwargs come back as one JSON arg`);
        t.deepEqual(wampBytes(at('bin')?.args[0]), binary, `${when}: binary back in WAMP, byte-identical`);
        t.deepEqual(at('str')?.args, ['just a string'], `${when}: string back in WAMP`);
      };
      await check(s.server, 'live');
      if (engine === 'sqlite') await check(await s.restart(), 'after restart');
    });
  }
}
