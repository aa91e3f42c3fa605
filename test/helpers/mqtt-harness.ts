// Shared helpers for the MQTT tests: a router + MQTT gate on ephemeral ports (TCP and WebSocket),
// mqtt.js clients, message collectors, raw sockets speaking bytes, and an aedes reference broker.
import type { ExecutionContext, TestFn } from 'ava';
import http from 'node:http';
import net from 'node:net';
import mqttPacket, { type IConnackPacket, type IDisconnectPacket, type Packet } from 'mqtt-packet';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { createWebSocketServer } from '../../lib/transport/websocket-server.ts';
import { createRouter, openRealm, type KitsuneRouter, type RouterConfig } from '../../lib/index.ts';
import { createMqttGate, type MqttGate, type MqttGateOptions } from '../../lib/mqtt/index.ts';

export interface LogEntry {
  level: string;
  obj: object;
  msg: string;
}

export interface Kitsune {
  router: KitsuneRouter;
  gate: MqttGate;
  port: number;
  url: string;
  wsUrl: string;
  logs: LogEntry[];
  stop(): Promise<void>;
}

export async function startKitsune(config: Partial<RouterConfig> = {}, gateOptions: MqttGateOptions = {}): Promise<Kitsune> {
  const router = createRouter({ realms: [openRealm('realm1')], ...config });
  const logs: LogEntry[] = [];
  const log = (level: string) => (obj: object, msg?: string) => logs.push({ level, obj, msg: msg ?? '' });
  const gate = createMqttGate(router, { logger: { warn: log('warn'), info: log('info'), debug: () => {}, error: log('error') }, ...gateOptions });
  const server = net.createServer((s) => gate.handleSocket(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const httpServer = http.createServer();
  const wss = createWebSocketServer({
    limits: { maxMessageBytes: router.limits.maxMessageBytes + 8 },
    subprotocol: (req) => {
      const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      return offered.includes('mqtt') ? 'mqtt' : offered.includes('mqttv3.1') ? 'mqttv3.1' : { status: '400 Bad Request', message: 'subprotocol mqtt\n' };
    },
    accept: (socket) => gate.handleWebSocket(socket),
  });
  httpServer.on('upgrade', (req, socket, head) => (req.url?.startsWith('/mqtt') ? wss.handleUpgrade(req, socket, head) : socket.destroy()));
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  const wsPort = (httpServer.address() as net.AddressInfo).port;
  return {
    router,
    gate,
    port,
    url: `mqtt://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${wsPort}/mqtt`,
    logs,
    async stop() {
      await gate.close();
      router.close();
      wss.close();
      await new Promise<void>((r) => server.close(() => r()));
      httpServer.closeAllConnections();
      await new Promise<void>((r) => httpServer.close(() => r()));
    },
  };
}

export interface Aedes {
  port: number;
  url: string;
  stop(): Promise<void>;
}

export async function startAedes(): Promise<Aedes> {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}

let counter = 0;
export function uniqueId(prefix = 'c'): string {
  return `${prefix}-${process.pid}-${++counter}`;
}

/** An mqtt.js client that never reconnects on its own. */
export function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, clientId: uniqueId(), ...options });
}

/** Connects without waiting; `connack` resolves with the CONNACK (listeners can be attached first). */
export function connectRaw(url: string, options: IClientOptions = {}): { client: MqttClient; connack: Promise<IConnackPacket> } {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, clientId: uniqueId(), ...options });
  const connack = new Promise<IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  return { client, connack };
}

export interface Received {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  dup: boolean;
  properties: Record<string, unknown> | undefined;
}

export interface Collector {
  messages: Received[];
  /** Resolves once at least n messages arrived (rejects after timeoutMs). */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
}

export function collect(client: MqttClient): Collector {
  const messages: Received[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload, qos: packet.qos, retain: packet.retain, dup: packet.dup, properties: packet.properties as Record<string, unknown> | undefined });
    for (const w of [...waiters]) if (messages.length >= w.n) w.resolve();
  });
  return {
    messages,
    waitFor(n, timeoutMs = 5000) {
      if (messages.length >= n) return Promise.resolve(messages);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${n} messages, got ${messages.length}`)), timeoutMs);
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(t);
            resolve(messages);
          },
        });
      });
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `pred` holds, checking every few milliseconds (state no event announces); rejects after timeoutMs. */
export async function waitUntil(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Kills the TCP connection under an mqtt.js client without DISCONNECT (an unclean close). */
export function dropConnection(client: MqttClient): void {
  client.options.reconnectPeriod = 0;
  client.stream.destroy();
}

/** A raw TCP client speaking bytes; parses what the server sends with the given protocol version. */
export class RawClient {
  readonly received: Buffer[] = [];
  readonly packets: Packet[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  /** The server ended its side (FIN); with `halfOpen` our side stays open until close(). */
  isEnded = false;
  private readonly parser;
  private waiters: (() => void)[] = [];

  private constructor(
    readonly socket: net.Socket,
    readonly version: number,
  ) {
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on('packet', (p: Packet) => {
      this.packets.push(p);
      this.wake();
    });
    this.parser.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      this.received.push(d);
      this.parser.parse(d);
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('end', () => {
      this.isEnded = true;
      this.wake();
    });
    this.closed = new Promise((r) =>
      socket.on('close', () => {
        this.isClosed = true;
        this.wake();
        r();
      }),
    );
  }

  /**
   * Opens a TCP connection. `halfOpen`: our side stays open after the server ends its side, so the
   * server's connection lingers (closing) until we close — a client id can connect again meanwhile.
   */
  static async open(port: number, version = 5, halfOpen = false): Promise<RawClient> {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: halfOpen });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket, version);
  }

  /** Opens and sends a CONNECT; resolves after the CONNACK. */
  static async connected(port: number, version: 3 | 4 | 5 = 5, connect: Partial<mqttPacket.IConnectPacket> = {}, halfOpen = false): Promise<RawClient> {
    const c = await RawClient.open(port, version, halfOpen);
    c.send({ cmd: 'connect', protocolVersion: version, protocolId: version === 3 ? 'MQIsdp' : 'MQTT', clientId: uniqueId('raw'), clean: true, keepalive: 0, ...connect } as mqttPacket.IConnectPacket);
    const connack = await c.next('connack');
    if ((connack as mqttPacket.IConnackPacket).reasonCode || (connack as mqttPacket.IConnackPacket).returnCode) throw new Error('CONNECT refused');
    return c;
  }

  get bytes(): Buffer {
    return Buffer.concat(this.received);
  }

  write(buf: Buffer | number[]): void {
    this.socket.write(Buffer.isBuffer(buf) ? buf : Buffer.from(buf));
  }

  send(packet: Packet, version = 5): void {
    this.write(mqttPacket.generate(packet, { protocolVersion: (packet as mqttPacket.IConnectPacket).protocolVersion ?? version }));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `pred` holds (re-checked on every input), rejecting after timeoutMs. */
  async until(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 20)); // also polls conditions not tied to input
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private seen = 0;

  /** The next not-yet-consumed packet of that type. */
  async next(cmd: Packet['cmd'], timeoutMs = 5000): Promise<Packet> {
    let found: Packet | undefined;
    await this.until(
      () => {
        for (let i = this.seen; i < this.packets.length; i++) {
          if ((this.packets[i] as Packet).cmd === cmd) {
            found = this.packets[i];
            this.seen = i + 1;
            return true;
          }
        }
        return false;
      },
      timeoutMs,
      cmd,
    );
    return found as Packet;
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    await this.until(() => this.isClosed, timeoutMs, 'close');
  }

  /** Waits until the server has ended its side of the connection. */
  async waitEnded(timeoutMs = 5000): Promise<void> {
    await this.until(() => this.isEnded || this.isClosed, timeoutMs, 'the server to end the connection');
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A publisher + subscriber pair that proves the gate still serves clients normally. */
export async function assertHealthy(url: string): Promise<void> {
  const sub = await connect(url);
  const pub = await connect(url);
  try {
    const c = collect(sub);
    const topic = `health/${uniqueId()}`;
    await sub.subscribeAsync(topic, { qos: 1 });
    await pub.publishAsync(topic, 'ok', { qos: 1 });
    await c.waitFor(1);
  } finally {
    await sub.endAsync();
    await pub.endAsync();
  }
}

/** A server shared by a test file, and a subscribed bystander whose service bad clients must not disturb. */
export interface BystanderFixture {
  k: Kitsune;
  bystander: MqttClient;
  /** The topic the bystander subscribes to (QoS 1). */
  topic: string;
}

/** Starts the fixture before the file's tests and stops it after them; its fields are set once they run. */
export function withBystander(test: TestFn, gateOptions: MqttGateOptions): BystanderFixture {
  const fx = {} as BystanderFixture;
  test.before(async () => {
    fx.k = await startKitsune({}, gateOptions);
    fx.bystander = await connect(fx.k.url, { protocolVersion: 5 });
    fx.topic = `bystander/${uniqueId()}`;
    await fx.bystander.subscribeAsync(fx.topic, { qos: 1 });
  });
  test.after.always(async () => {
    await fx.bystander?.endAsync();
    await fx.k?.stop();
  });
  return fx;
}

/** Warnings the fixture's gate has logged (every refusal logs one). */
export function warnings(fx: BystanderFixture): number {
  return fx.k.logs.filter((l) => l.level === 'warn').length;
}

/** The failure was logged, and the gate still serves a new pair of clients and the bystander. */
export async function assertUndisturbed(t: ExecutionContext, fx: BystanderFixture, warningsBefore: number): Promise<void> {
  t.true(warnings(fx) > warningsBefore, 'the failure was logged');
  await assertHealthy(fx.k.url);
  t.true(fx.bystander.connected, 'a connected bystander is untouched');
}

/**
 * Sends `bytes` as the first packet (a CONNECT); expects the CONNACK `code` (v5 reason code, or
 * 3.1/3.1.1 return code) as the only packet, then the close — or, code undefined, a close with
 * nothing sent. Then checks that nobody else was disturbed.
 */
export async function expectConnackRefusal(t: ExecutionContext, fx: BystanderFixture, bytes: Buffer | number[], version: number, code: number | undefined): Promise<void> {
  const before = warnings(fx);
  const raw = await RawClient.open(fx.k.port, version);
  raw.write(bytes);
  await raw.waitClosed();
  const got = raw.bytes;
  if (code === undefined) t.is(got.length, 0, `closed with nothing sent (got ${got.toString('hex')})`);
  else if (version === 5) {
    t.is(got[0], 0x20, 'CONNACK');
    t.is(got[2], 0x00, 'session present 0');
    t.is(got[3], code, `reason code 0x${code.toString(16)}`);
    t.is(got.length, 2 + (got[1] as number), 'CONNACK is the only packet');
    t.is((raw.packets[0] as IConnackPacket).reasonCode, code);
  } else t.deepEqual([...got], [0x20, 0x02, 0x00, code]);
  await assertUndisturbed(t, fx, before);
}

/**
 * A connected client (CONNECT fields `connect`) sends `bytes`; v5 expects DISCONNECT `code` as
 * the only packet after, 3.1/3.1.1 a close with nothing sent. Then checks that nobody else was
 * disturbed.
 */
export async function expectClosedAfter(
  t: ExecutionContext,
  fx: BystanderFixture,
  bytes: Buffer | number[],
  version: 3 | 4 | 5,
  code = 0x81,
  connect: Partial<mqttPacket.IConnectPacket> = {},
): Promise<void> {
  const before = warnings(fx);
  const raw = await RawClient.connected(fx.k.port, version, connect);
  await expectClosedBy(t, raw, bytes, code);
  await assertUndisturbed(t, fx, before);
}

/** `raw` (connected) sends `bytes`: v5 expects DISCONNECT `code` as the only packet after, 3.1/3.1.1 a silent close. */
export async function expectClosedBy(t: ExecutionContext, raw: RawClient, bytes: Buffer | number[], code = 0x81): Promise<void> {
  const n = raw.bytes.length;
  raw.write(bytes);
  await raw.waitClosed();
  const got = raw.bytes.subarray(n);
  if (raw.version !== 5) t.is(got.length, 0, `nothing sent (got ${got.toString('hex')})`);
  else {
    t.is(got[0], 0xe0, `DISCONNECT (got ${got.toString('hex')})`);
    t.is(got[2], code, `reason code 0x${code.toString(16)}`);
    t.is(got.length, 2 + (got[1] as number), 'DISCONNECT is the only packet');
    t.is((raw.packets.at(-1) as IDisconnectPacket).reasonCode, code);
  }
}
