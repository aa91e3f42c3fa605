// A publish the client's role forbids. MQTT 5 refuses it in PUBACK (0x87); 3.1.1 cannot, so
// `forbiddenPublish` decides: 'drop' (default) acknowledges it per its QoS without routing it,
// 'disconnect' closes the connection. Either way it is counted (kitsune_mqtt_forbidden_publishes_total).
import test from 'ava';
import type { RealmConfig } from '../../lib/index.ts';
import { connect, startKitsune, waitUntil } from '../helpers/mqtt-harness.ts';

/** Anonymous may subscribe to everything and publish under public/ only. */
const realm: RealmConfig = {
  name: 'realm1',
  roles: [
    {
      name: 'anonymous',
      permissions: [
        { uri: '', match: 'prefix', allow: { subscribe: true } },
        { uri: 'public', match: 'prefix', allow: { publish: true, subscribe: true } },
      ],
    },
  ],
  auth: { anonymous: { role: 'anonymous' } },
};

test('3.1.1, drop (default): QoS 0, 1 and 2 forbidden publishes are acknowledged, not routed, counted; the connection carries on', async (t) => {
  const k = await startKitsune({ realms: [realm] });
  t.teardown(() => k.stop());
  const seen: string[] = [];
  const spy = k.router.connect('realm1');
  await spy.subscribe('', (e) => void seen.push(e.topic), { match: 'prefix' });
  const c = await connect(k.url, { protocolVersion: 4 });
  t.teardown(() => c.end(true));
  await c.publishAsync('secret/a', 'x', { qos: 0 });
  await c.publishAsync('secret/b', 'x', { qos: 1 });
  await c.publishAsync('secret/c', 'x', { qos: 2 });
  await c.publishAsync('public/ok', 'x', { qos: 1 });
  await waitUntil(() => seen.length >= 1, 'the allowed publish');
  t.deepEqual(seen, ['public.ok'], 'only the allowed publish was routed');
  t.is(k.router.stats.mqttForbiddenPublishes, 3);
  t.true(c.connected);
});

test('3.1.1, disconnect: a forbidden publish closes the connection and is counted', async (t) => {
  const k = await startKitsune({ realms: [realm] }, { forbiddenPublish: 'disconnect' });
  t.teardown(() => k.stop());
  const seen: string[] = [];
  const spy = k.router.connect('realm1');
  await spy.subscribe('secret', (e) => void seen.push(e.topic), { match: 'prefix' });
  for (const qos of [0, 1] as const) {
    const c = await connect(k.url, { protocolVersion: 4 });
    t.teardown(() => c.end(true));
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    c.publish('secret/x', 'x', { qos });
    await closed;
    t.false(c.connected);
  }
  t.is(k.router.stats.mqttForbiddenPublishes, 2);
  t.deepEqual(seen, []);
});

test('MQTT 5 keeps PUBACK 0x87 (whatever forbiddenPublish says) and counts it', async (t) => {
  const k = await startKitsune({ realms: [realm] }, { forbiddenPublish: 'disconnect' });
  t.teardown(() => k.stop());
  const c = await connect(k.url, { protocolVersion: 5 });
  t.teardown(() => c.end(true));
  const err = await t.throwsAsync(c.publishAsync('secret/x', 'x', { qos: 1 }));
  t.regex(String((err as { code?: number }).code ?? err?.message), /135|0x87|Not authorized/i);
  t.true(c.connected);
  t.is(k.router.stats.mqttForbiddenPublishes, 1);
});
