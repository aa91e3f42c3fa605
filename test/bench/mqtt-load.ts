// The lean MQTT 3.1.1 load client of the MQTT benchmark: one socket, its own framing, writes
// coalesced per tick, acknowledgements answered at once. The same client drives every target
// (kitsune, aedes, the relay), so only the server differs.
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { encodePublish } from '../../lib/mqtt/encode.ts';
import { Framer } from '../../lib/mqtt/frame.ts';

export type QoS = 0 | 1 | 2;

/** Microseconds on the system's monotonic clock (comparable across processes on one host). */
export function nowUs(): number {
  return Number(process.hrtime.bigint()) / 1000;
}

/** Payload carrying its send time and sequence number: the JSON string "ts:seq:padding". */
export function benchPayload(seq: number, size = 64): Buffer {
  const head = `${nowUs().toFixed(1)}:${seq}:`;
  return Buffer.from(JSON.stringify(head.padEnd(Math.max(head.length, size - 2), 'x')));
}

export function parseBenchPayload(p: Buffer): { ts: number; seq: number } | undefined {
  const s = p.toString('latin1');
  const a = s.indexOf(':');
  const b = s.indexOf(':', a + 1);
  if (a < 0 || b < 0) return undefined;
  return { ts: Number(s.slice(1, a)), seq: Number(s.slice(a + 1, b)) };
}

export class LoadClient {
  private corked = false;
  private waiters = new Map<number, () => void>();
  /** Called for every PUBLISH received. */
  onPublish: ((payload: Buffer) => void) | undefined;
  /** Called for every PUBACK received (QoS 1 publishes acknowledged). */
  onPuback: ((packetId: number) => void) | undefined;
  readonly closed: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    const framer = new Framer({ maxPacket: () => 1 << 28, frame: (f) => this.onFrame(f), frameError: () => socket.destroy() });
    socket.on('data', (d: Buffer) => framer.push(d));
    socket.on('error', () => {});
    this.closed = new Promise((r) => socket.on('close', () => r()));
  }

  /**
   * `clean: false` asks for a persistent session (3.1.1 clean session 0); `onPublish` is set before
   * CONNECT, so messages a resumed session sends right after CONNACK are seen too.
   */
  static async connect(port: number, clientId: string, options: { clean?: boolean; onPublish?: (payload: Buffer) => void } = {}): Promise<LoadClient> {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new LoadClient(socket);
    c.onPublish = options.onPublish;
    const acked = c.expect(2);
    c.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: options.clean ?? true, keepalive: 0 }));
    await acked;
    return c;
  }

  async subscribe(topic: string, qos: QoS): Promise<void> {
    const acked = this.expect(9);
    this.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] }));
    await acked;
  }

  /** Sends a PUBLISH; `id` must be 1..65535 for QoS 1/2. */
  publish(topic: string, payload: Buffer, qos: QoS, id: number): void {
    const f = encodePublish(topic, qos, false, payload, undefined);
    if (f.idOffset >= 0) f.head.writeUInt16BE(id, f.idOffset);
    this.write(f.head);
    if (f.payload.length > 0) this.write(f.payload);
  }

  close(): void {
    this.socket.destroy();
  }

  private expect(type: number): Promise<void> {
    return new Promise((resolve) => this.waiters.set(type, resolve));
  }

  private write(buf: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(buf);
  }

  private ack(first: number, frame: Buffer, at: number): void {
    this.write(Buffer.from([first, 2, frame[at] as number, frame[at + 1] as number]));
  }

  private onFrame(f: Buffer): void {
    const type = (f[0] as number) >> 4;
    let off = 1;
    while (((f[off] as number) & 0x80) !== 0) off++;
    off++;
    switch (type) {
      case 3: {
        const qos = ((f[0] as number) >> 1) & 3;
        const tlen = f.readUInt16BE(off);
        let p = off + 2 + tlen;
        const idAt = p;
        if (qos > 0) p += 2;
        this.onPublish?.(f.subarray(p));
        if (qos === 1) this.ack(0x40, f, idAt);
        else if (qos === 2) this.ack(0x50, f, idAt);
        break;
      }
      case 4: // PUBACK
        this.onPuback?.(f.readUInt16BE(off));
        break;
      case 5: // PUBREC → PUBREL
        this.ack(0x62, f, off);
        break;
      case 6: // PUBREL → PUBCOMP
        this.ack(0x70, f, off);
        break;
      default: {
        const w = this.waiters.get(type);
        if (w) {
          this.waiters.delete(type);
          w();
        }
      }
    }
  }
}
