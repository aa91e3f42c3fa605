// mqtt.maxKeepAlive: a longer keep alive request, or 0 (none), gets the maximum as v5 Server Keep
// Alive; 3.1 / 3.1.1 clients cannot be told another value and are refused with CONNACK 0x02, as
// mosquitto's max_keepalive does. Shorter requests are left alone; serverKeepAlive still replaces
// every v5 request.
import test from 'ava';
import mqttPacket, { type IConnackPacket, type IDisconnectPacket } from 'mqtt-packet';
import { expectConnackRefusal, RawClient, startKitsune, uniqueId, withBystander } from '../helpers/mqtt-harness.ts';

// 60 s: what mqtt.js asks for by default (the health checks after each refusal connect with it)
const fx = withBystander(test, { maxKeepAlive: 60, connectTimeoutMs: 2000 });

const connectBytes = (version: 3 | 4 | 5, keepalive: number): Buffer =>
  mqttPacket.generate({ cmd: 'connect', protocolVersion: version, protocolId: version === 3 ? 'MQIsdp' : 'MQTT', clientId: uniqueId('ka'), clean: true, keepalive } as mqttPacket.IConnectPacket, { protocolVersion: version });

test('v5: a keep alive over the maximum, or 0, gets the maximum as Server Keep Alive; one within it is left alone', async (t) => {
  for (const [asked, announced] of [[61, 60], [65535, 60], [0, 60], [60, undefined], [10, undefined], [1, undefined]] as const) {
    const raw = await RawClient.connected(fx.k.port, 5, { keepalive: asked });
    const connack = raw.packets[0] as IConnackPacket;
    t.is(connack.reasonCode, 0);
    t.is(connack.properties?.serverKeepAlive, announced, `asked ${asked}`);
    raw.close();
  }
});

test('3.1 / 3.1.1: a keep alive over the maximum, or 0, is refused with CONNACK 0x02; one within it is accepted', async (t) => {
  for (const version of [4, 3] as const) {
    for (const asked of [61, 600, 0]) await expectConnackRefusal(t, fx, connectBytes(version, asked), version, 0x02);
    for (const asked of [60, 5]) {
      const raw = await RawClient.connected(fx.k.port, version, { keepalive: asked });
      t.is((raw.packets[0] as IConnackPacket).returnCode, 0, `v${version} asked ${asked}`);
      raw.close();
    }
  }
});

test('the announced maximum is enforced: silent past 1.5 × it, a v5 client is disconnected with 0x8D', async (t) => {
  const k = await startKitsune({}, { maxKeepAlive: 1 });
  try {
    const raw = await RawClient.connected(k.port, 5, { keepalive: 600 });
    t.is((raw.packets[0] as IConnackPacket).properties?.serverKeepAlive, 1);
    t.is(((await raw.next('disconnect', 5000)) as IDisconnectPacket).reasonCode, 0x8d);
    await raw.waitClosed();
  } finally {
    await k.stop();
  }
});

test('serverKeepAlive still replaces every v5 request when maxKeepAlive is set too', async (t) => {
  const k = await startKitsune({}, { maxKeepAlive: 30, serverKeepAlive: 20 });
  try {
    for (const asked of [10, 0, 60]) {
      const raw = await RawClient.connected(k.port, 5, { keepalive: asked });
      t.is((raw.packets[0] as IConnackPacket).properties?.serverKeepAlive, 20, `asked ${asked}`);
      raw.close();
    }
    // 3.1.1 has no Server Keep Alive: maxKeepAlive decides
    const raw4 = await RawClient.connected(k.port, 4, { keepalive: 10 });
    t.is((raw4.packets[0] as IConnackPacket).returnCode, 0);
    raw4.close();
  } finally {
    await k.stop();
  }
});
