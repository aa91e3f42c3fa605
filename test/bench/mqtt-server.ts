// A server child of the MQTT benchmark, one of:
//   kitsune  the router with the MQTT gate (lib/mqtt) on a plain TCP listener
//   aedes    aedes 1.x, the reference broker
//   relay    the ceiling: answers CONNECT/SUBSCRIBE, acknowledges, and forwards every PUBLISH frame
//            unchanged to every subscriber, with no topic matching, decoding or re-encoding
//            (writes coalesced as kitsune's MQTT connections coalesce them)
//
//   node --import tsx test/bench/mqtt-server.ts kitsune|aedes|relay
//
// Prints {"event":"listening","port":N}. Then reads commands on stdin, one per line:
//   pub <topic> <firstSeq> <count>   publish <count> QoS 0 messages in-process (kitsune: through
//                                    the in-process WAMP client; aedes: broker.publish; relay:
//                                    written to every subscriber), payloads as mqtt-load.ts makes them
import net from 'node:net';
import { createInterface } from 'node:readline';
import { createRouter, openRealm } from '../../lib/index.ts';
import { encodePublish } from '../../lib/mqtt/encode.ts';
import { Framer } from '../../lib/mqtt/frame.ts';
import { MAX_WRITES_PER_FLUSH } from '../../lib/mqtt/connection.ts';
import { createMqttGate } from '../../lib/mqtt/index.ts';
import { benchPayload } from './mqtt-load.ts';
import { coalescer } from './coalesce.ts';

type Publish = (topic: string, seq: number) => void;


async function kitsune(): Promise<{ server: net.Server; publish: Publish }> {
  const router = createRouter({ realms: [openRealm('realm1')] });
  const gate = createMqttGate(router);
  const local = router.connect('realm1');
  const server = net.createServer((s) => gate.handleSocket(s));
  return {
    server,
    publish: (topic, seq) => {
      const str = JSON.parse(benchPayload(seq).toString()) as string;
      local.publish(topic.replaceAll('/', '.'), [str]).catch(() => {});
    },
  };
}

async function aedes(): Promise<{ server: net.Server; publish: Publish }> {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  return {
    server,
    publish: (topic, seq) => broker.publish({ cmd: 'publish', topic, payload: benchPayload(seq), qos: 0, retain: false, dup: false }, () => {}),
  };
}

function relay(): { server: net.Server; publish: Publish } {
  interface Conn {
    socket: net.Socket;
    touch: () => void;
  }
  const subscribers: Conn[] = [];
  const send = (c: Conn, buf: Buffer): void => {
    c.touch();
    c.socket.write(buf);
  };
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const me: Conn = { socket, touch: coalescer(socket, MAX_WRITES_PER_FLUSH) };
    const framer = new Framer({
      maxPacket: () => 1 << 28,
      frame: (f) => {
        const type = (f[0] as number) >> 4;
        let off = 1;
        while (((f[off] as number) & 0x80) !== 0) off++;
        off++;
        const ack = (first: number): void => send(me, Buffer.from([first, 2, f[off] as number, f[off + 1] as number]));
        switch (type) {
          case 1:
            send(me, Buffer.from([0x20, 2, 0, 0]));
            break;
          case 3: {
            for (const s of subscribers) if (s !== me) send(s, f);
            const qos = ((f[0] as number) >> 1) & 3;
            if (qos > 0) {
              const idAt = off + 2 + f.readUInt16BE(off);
              send(me, Buffer.from([qos === 1 ? 0x40 : 0x50, 2, f[idAt] as number, f[idAt + 1] as number]));
            }
            break;
          }
          case 5:
            ack(0x62);
            break;
          case 6:
            ack(0x70);
            break;
          case 8:
            subscribers.push(me);
            send(me, Buffer.from([0x90, 3, f[off] as number, f[off + 1] as number, (f[f.length - 1] as number) & 3]));
            break;
          case 12:
            send(me, Buffer.from([0xd0, 0]));
            break;
          default:
            break;
        }
      },
      frameError: () => socket.destroy(),
    });
    socket.on('data', (d: Buffer) => framer.push(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      const i = subscribers.indexOf(me);
      if (i >= 0) subscribers.splice(i, 1);
    });
  });
  return {
    server,
    publish: (topic, seq) => {
      const f = encodePublish(topic, 0, false, benchPayload(seq), undefined);
      for (const s of subscribers) {
        send(s, f.head);
        if (f.payload.length > 0) send(s, f.payload);
      }
    },
  };
}

async function main(): Promise<void> {
  const which = process.argv[2];
  const made = which === 'kitsune' ? await kitsune() : which === 'aedes' ? await aedes() : which === 'relay' ? relay() : undefined;
  if (!made) throw new Error(`usage: mqtt-server.ts kitsune|aedes|relay (got ${which})`);
  await new Promise<void>((r) => made.server.listen(0, '127.0.0.1', r));
  const port = (made.server.address() as net.AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ event: 'listening', port })}\n`);
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const [cmd, topic, first, count] = line.trim().split(/\s+/);
    if (cmd !== 'pub' || !topic) return;
    const n = Number(count);
    for (let i = 0; i < n; i++) made.publish(topic, Number(first) + i);
  });
  rl.on('close', () => process.exit(0));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
