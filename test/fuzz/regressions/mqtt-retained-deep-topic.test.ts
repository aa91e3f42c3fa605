// Found by the mqtt fuzz door (FUZZ_SEED=1, batch 0): a retained message on a topic thousands of
// levels deep, then a wildcard SUBSCRIBE, made RetainedTree.walk (lib/core/retained.ts) recurse once
// per level until the stack overflowed; the MQTT error path (Connection.internalError) then called the
// pino logger detached from its object, which threw outside any handler and killed the router.
// Expected: a SUBACK (or a refusal of the topic at a depth limit), and the router serves everyone.
import test from 'ava';
import net from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { assertSurvived, fuzzRouter, sendRaw } from '../../helpers/fuzz-regression.ts';
import { hostPort } from '../harness/router.ts';

const v4 = { protocolVersion: 4 } as const;
const packet = (p: object): Buffer => mqttPacket.generate(p as Packet, v4);
const connect = (clientId: string): Buffer => packet({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 60 });

test('a wildcard subscription over a retained topic 20000 levels deep neither crashes the router nor fails', async (t) => {
  const router = await fuzzRouter(t);
  await sendRaw(router, 'mqtt', [connect('deep'), packet({ cmd: 'publish', topic: `${'a/'.repeat(20_000)}z`, payload: 'x', qos: 0, retain: true })]);

  const socket = net.connect(hostPort(router.urls.mqtt as string));
  t.teardown(() => socket.destroy());
  socket.on('error', () => {});
  const parser = mqttPacket.parser(v4);
  const got = new Promise<string[]>((resolve) => {
    const cmds: string[] = [];
    parser.on('packet', (p: Packet) => cmds.push(p.cmd) === 2 && resolve(cmds));
    socket.once('close', () => resolve(cmds));
  });
  socket.on('data', (d: Buffer) => parser.parse(d));
  socket.write(Buffer.concat([connect('wild'), packet({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }] })]));
  t.deepEqual(await got, ['connack', 'suback']);
  await assertSurvived(t, router);
});
