// One client connection: framing and parsing, the error boundary around every handler, keep alive,
// topic aliases, and the write path (corked for the rest of the tick, bounded by the router's
// send-buffer limits: past the soft limit QoS 0 messages are dropped and counted, past the hard
// limit the client is disconnected). Implements the Link a session sends through. Packets that
// arrive while stored sessions are being restored (gate start, or a CONNECT into a realm not yet
// restored) are held until that is done.
import mqttPacket, { type Packet, type PacketCmd } from 'mqtt-packet';
import { MqttError, RC, type ProtocolVersion } from './codes.ts';
import { type Closable, type GateContext, logError } from './context.ts';
import { connectLevel, connectProblem, decodePublish, decodeShortAck, type FastAck, type FastPublish, type FrameError, Framer, type FrameSink, MQTT_MAX_PACKET, packetProblem } from './frame.ts';
import { publishFrame, topicOf } from './peer.ts';
import type { Link, MqttSession, Outbound } from './session-state.ts';
import { DISCONNECT, droppableVerdict, pastHardLimit, SEND } from '../transport/slow-consumer.ts';
import type { WheelEntry } from '../transport/timer-wheel.ts';
import type { Transport, TransportEvents } from './transport.ts';

/** A packet handler; each takes its own mqtt-packet type (the table maps cmd → handler). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Handler = (conn: Connection, packet: any) => void;
export type HandlerTable = Partial<Record<PacketCmd, Handler>>;

type State = 'connecting' | 'open' | 'closing' | 'closed';

const CLOSE_GRACE_MS = 2_000;

/**
 * A corked batch is flushed after this many writes rather than only at the end of the tick: with
 * a whole window of QoS 1 messages read at once, the subscriber starts on the first ones while the
 * rest are routed, instead of client and server taking turns. Measured (QoS 1 1->1, window 100):
 * about 125k msgs/s flushing once per tick, 220k at 32 (16: about the same, 64: 205k), with the
 * fan-out cost per delivery unchanged.
 */
export const MAX_WRITES_PER_FLUSH = 32;

const WITH_ID = new Set<PacketCmd>(['puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'unsubscribe']);

/** First byte of the acknowledgements sent in their 4-byte short form. */
const SHORT_ACK: Partial<Record<PacketCmd, number>> = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 };

/**
 * One mqtt-packet parser for every connection (a parser per connection cost about 1.4 KiB of heap:
 * an EventEmitter, a Duplex buffer list and the CONNECT packet it keeps as its settings). Sharing
 * is safe because it is only ever given one whole frame and parses it synchronously; what differs
 * per connection (protocol version, bridge mode) is set before each frame, and a parser left
 * mid-packet or in error is replaced.
 */
let sharedParser: ReturnType<typeof mqttPacket.parser> | undefined;
let parsed: Packet | undefined;
let parseError: Error | undefined;

/** One whole frame through mqtt-packet: the packet, or why it is malformed. */
function parseFrame(frame: Buffer, protocolVersion: ProtocolVersion, bridgeMode: boolean): Packet | string {
  let parser = sharedParser;
  if (!parser) {
    parser = sharedParser = mqttPacket.parser();
    parser.on('packet', (p: Packet) => (parsed = p));
    parser.on('error', (e: Error) => (parseError = e));
  }
  (parser as unknown as { settings: object }).settings = { protocolVersion, bridgeMode };
  parsed = undefined;
  parseError = undefined;
  parser.parse(frame);
  const packet = parsed as Packet | undefined;
  const error = parseError as Error | undefined;
  parsed = undefined;
  parseError = undefined;
  if (error || !packet) sharedParser = undefined; // never carry a half-parsed packet to another connection
  if (error) return error.message;
  return packet ?? 'incomplete packet';
}

/** mqtt-packet leaves a truncated packet id as -1 and accepts 0: both are refused here. */
function checkPacketId(p: Packet | FastPublish | FastAck): [number, string] | undefined {
  if (!WITH_ID.has(p.cmd) && !(p.cmd === 'publish' && p.qos > 0)) return undefined;
  const id = p.messageId;
  if (typeof id !== 'number' || id < 0 || id > 65535) return [RC.malformed, `${p.cmd} without a packet identifier`];
  if (id === 0) return [RC.protocolError, `${p.cmd} with packet identifier 0`];
  return undefined;
}

/**
 * What a connection's transport reports to it. A small object with prototype methods rather than an
 * object of arrow functions: under tsx (keepNames) each named arrow function also gets its own
 * property dictionary, about 300 bytes per closure per connection.
 */
/** A connection's listener for its transport and its framer: one small object, no closures. */
class ConnectionSink implements TransportEvents, FrameSink {
  constructor(private readonly conn: Connection) {}
  maxPacket(): number {
    const max = this.conn.gate.options.maxPacketSize;
    return this.conn.state === 'connecting' ? Math.min(max, MQTT_MAX_PACKET) : max;
  }
  frame(frame: Buffer): void {
    this.conn.gate.traffic.messagesIn++;
    this.conn.onFrame(frame);
  }
  frameError(kind: FrameError, message: string): void {
    this.conn.protocolFailure(kind === 'too-large' ? RC.packetTooLarge : RC.malformed, message);
  }
  data(chunk: Buffer): void {
    this.conn.onData(chunk);
  }
  invalid(message: string): void {
    this.conn.protocolFailure(RC.malformed, message);
  }
  close(): void {
    this.conn.onClose();
  }
}

export class Connection implements Link, Closable, WheelEntry {
  state: State = 'connecting';
  version: ProtocolVersion = 4;
  session: MqttSession | undefined;
  clientId = '';
  /** The client's v5 limits (defaults apply before v5 / when absent). */
  receiveMaximum = 65535;
  maxPacketOut = MQTT_MAX_PACKET;
  topicAliasMaxOut = 0;
  problemInfo = true;
  /** Session Expiry Interval the CONNECT carried (DISCONNECT may not raise it from 0). */
  connectExpiry = 0;
  private aliasesIn: Map<number, string> | undefined;
  /** Inbound QoS 1 publishes routed but not yet acknowledged. */
  pendingQos1 = 0;
  /** DISCONNECT with reason 0x00 received: the will is discarded. */
  cleanDisconnect = false;
  private closedPromise: Promise<void> | undefined;
  private resolveClosed: (() => void) | undefined;
  private readonly sink: ConnectionSink;
  private readonly framer: Framer;
  /** The CONNECT asked for bridge mode (3.1.1 SUBSCRIBE options parse differently). */
  private bridgeMode = false;
  private corked = false;
  /** Writes since the socket was corked (see MAX_WRITES_PER_FLUSH). */
  private writesCorked = 0;
  private outAliases: Map<string, number> | undefined;
  /** Acknowledgements waiting for earlier ones, in PUBLISH order; made on the first QoS 1/2 PUBLISH. */
  private acks: { packet: Packet | undefined }[] | undefined;
  /** The connection's keep alive (1.5 × the client's interval), 0 for none. */
  private keepaliveMs = 0;
  /** When the client was last heard: the gate's wheel.now then (see timer-wheel.ts). */
  private heardSlot: number;
  /** The slot the connect deadline or the keep-alive check waits in (the gate's wheel). */
  wheelSlot = -1;
  /** Frames held while stored sessions are restored (CONNECT must find them) or a password is checked. */
  private held: Buffer[] | undefined;
  private heldBytes = 0;
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly gate: GateContext,
    readonly transport: Transport,
    private readonly handlers: HandlerTable,
  ) {
    this.sink = new ConnectionSink(this);
    this.framer = new Framer(this.sink);
    gate.connections.add(this);
    gate.stats.connections++;
    if (gate.restoring) this.held = [];
    gate.wheel.addAfter(this, gate.options.connectTimeoutMs);
    this.heardSlot = gate.wheel.now;
  }

  /** Starts reading; `firstBytes` were already read from the socket (port sniffing). */
  start(firstBytes?: Buffer): void {
    this.transport.start(this.sink);
    if (firstBytes && firstBytes.length > 0) this.onData(firstBytes);
  }

  /** Inbound topic aliases (v5), created on first use: most clients never set one. */
  get inAliases(): Map<number, string> {
    return (this.aliasesIn ??= new Map());
  }

  /** Settles once the transport has closed; made only when asked for (at shutdown). */
  get closed(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    return (this.closedPromise ??= new Promise((resolve) => (this.resolveClosed = resolve)));
  }

  get log(): object {
    return { clientId: this.clientId || undefined, remote: this.transport.remote, transport: this.transport.kind };
  }

  // --- input -----------------------------------------------------------------------------------

  /** Holds the packets that follow until release() (stored sessions are being restored). */
  hold(): void {
    this.held ??= [];
  }

  /** Restoring finished: held packets are handled now, in order. */
  release(): void {
    const held = this.held;
    this.held = undefined;
    this.heldBytes = 0;
    if (!held) return;
    for (let i = 0; i < held.length; i++) {
      const again = this.held as Buffer[] | undefined;
      if (again) {
        // held again while replaying: keep the rest, in order
        again.unshift(...held.slice(i));
        return;
      }
      this.onFrame(held[i] as Buffer);
    }
  }

  /** Bytes from the transport (ConnectionSink). */
  onData(chunk: Buffer): void {
    this.gate.traffic.bytesIn += chunk.length;
    if (this.state === 'closing' || this.state === 'closed') return;
    this.heardSlot = this.gate.wheel.now;
    try {
      this.framer.push(chunk);
    } catch (err) {
      this.internalError(err);
    }
  }

  /** A whole packet from the framer (ConnectionSink). */
  onFrame(frame: Buffer): void {
    if (this.state !== 'connecting' && this.state !== 'open') return;
    if (this.held) {
      // A client that has not been let in yet may not make us keep more than one largest packet.
      this.heldBytes += frame.length;
      const max = this.gate.options.maxPacketSize;
      if (this.heldBytes > max) return this.abort(`more than ${max} bytes sent while the CONNECT waits`);
      this.held.push(frame);
      return;
    }
    const type = (frame[0] as number) >> 4;
    if (this.state === 'connecting') {
      if (type !== 1) return this.abort(`first packet is not CONNECT (type ${type})`);
      const lv = connectLevel(frame);
      if (lv && (lv.name === 'MQTT' || lv.name === 'MQIsdp') && (lv.level < 3 || lv.level > 5)) {
        this.gate.logger.warn({ ...this.log, level: lv.level }, 'unsupported MQTT protocol level');
        this.gate.stats.badInput++;
        // v5-looking levels get a v5 CONNACK 0x84, older ones the 3.1.1 code 0x01.
        this.writeNow(lv.level > 5 ? Buffer.from([0x20, 0x03, 0x00, RC.unsupportedProtocolVersion, 0x00]) : Buffer.from([0x20, 0x02, 0x00, 0x01]));
        return this.end();
      }
      if (lv && ((lv.name === 'MQTT' && lv.level === 3) || (lv.name === 'MQIsdp' && lv.level !== 3))) {
        // The protocol name must match the level (3.1: MQIsdp, 3.1.1 / 5: MQTT; MQTT-3.1.2-1).
        this.gate.logger.warn({ ...this.log, level: lv.level, name: lv.name }, 'MQTT protocol name does not match the level');
        this.gate.stats.badInput++;
        this.writeNow(lv.level === 5 ? Buffer.from([0x20, 0x03, 0x00, RC.unsupportedProtocolVersion, 0x00]) : Buffer.from([0x20, 0x02, 0x00, 0x01]));
        return this.end();
      }
      // A malformed v5 CONNECT gets CONNACK 0x81 before the close (MQTT 5 §4.13.1); 3.1.1: closed.
      if (lv?.level === 5) this.version = 5;
      const problem = connectProblem(frame);
      if (problem) return this.protocolFailure(problem[0], `CONNECT: ${problem[1]}`);
    } else if (type === 1) {
      return this.protocolFailure(RC.protocolError, 'second CONNECT on the connection');
    }
    const v5 = this.version === 5;
    if (type === 0 || (type === 15 && !v5)) return this.protocolFailure(RC.malformed, `reserved packet type ${type}`);
    if (type !== 1) {
      const problem = packetProblem(frame, type, v5);
      if (problem) return this.protocolFailure(problem[0], problem[1]);
    }
    const fast = type === 3 ? decodePublish(frame, v5) : type >= 4 && type <= 7 ? decodeShortAck(frame) : undefined;
    const packet = fast ?? this.parse(frame);
    if (typeof packet === 'string') return this.protocolFailure(RC.malformed, `malformed packet: ${packet}`);
    const idError = checkPacketId(packet);
    if (idError) return this.protocolFailure(idError[0], idError[1]);
    const handler = this.handlers[packet.cmd];
    if (!handler) return this.protocolFailure(RC.protocolError, `unexpected ${packet.cmd} packet from a client`);
    if (this.gate.trace) this.gate.logger.debug({ event: 'mqtt.packet', ...this.log, cmd: packet.cmd }, 'MQTT packet in');
    try {
      handler(this, packet);
    } catch (err) {
      if (err instanceof MqttError) this.protocolFailure(err.code, err.message);
      else this.internalError(err);
    }
  }

  /** One whole frame through mqtt-packet: the packet, or why it is malformed. */
  private parse(frame: Buffer): Packet | string {
    const packet = parseFrame(frame, this.version, this.bridgeMode);
    if (typeof packet !== 'string' && packet.cmd === 'connect' && (packet as { bridgeMode?: boolean }).bridgeMode) this.bridgeMode = true;
    return packet;
  }

  // --- lifecycle -------------------------------------------------------------------------------

  /** CONNECT accepted: the connect deadline ends, keep alive (1.5 × the interval) starts. */
  opened(keepaliveSeconds: number): void {
    this.state = 'open';
    const wheel = this.gate.wheel;
    if (keepaliveSeconds > 0) {
      this.keepaliveMs = keepaliveSeconds * 1500;
      wheel.addAfter(this, this.keepaliveMs, this.heardSlot);
    } else {
      wheel.remove(this);
    }
  }

  /**
   * The gate's wheel: the connect deadline passed, or the keep-alive check is due. The wheel judges
   * after the I/O phase, on the monotonic clock, so a client heard meanwhile is not dropped.
   */
  due(now: number): number {
    if (this.state === 'connecting') {
      this.abort('no CONNECT in time');
      return -1;
    }
    if (this.state !== 'open' || this.keepaliveMs === 0) return -1;
    const wheel = this.gate.wheel;
    const deadline = wheel.deadline(this.heardSlot, this.keepaliveMs);
    if (now < deadline) return deadline;
    const silentMs = (now - this.heardSlot) * wheel.slotMs;
    this.disconnect(RC.keepAliveTimeout, `no packet for about ${silentMs} ms (keep alive ${this.keepaliveMs / 1500} s)`);
    return -1;
  }

  /** A protocol violation or bad input: logged, v5 DISCONNECT with `code` when possible, closed. */
  protocolFailure(code: number, message: string): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.gate.stats.badInput++;
    this.gate.logger.warn({ event: 'protocol.violation', protocol: 'mqtt', ...this.log, reasonCode: code, reason: message }, `MQTT connection closed: ${message}`);
    this.disconnect(code, message);
  }

  /** A store write the client's request depends on failed: nothing is acknowledged, the client is disconnected. */
  storeFailure(what: string, err: unknown): void {
    this.gate.router.stats.storeFailures++;
    this.safeLog({ ...this.log, err: String((err as Error)?.message ?? err) }, `MQTT client disconnected: ${what} could not be stored`);
    this.disconnect(RC.unspecified, `${what} could not be stored`);
  }

  /**
   * A 3.1.1 request a configured limit refused, where the protocol has no negative answer (PUBACK
   * cannot refuse): the client is disconnected rather than told the message was taken.
   */
  refusedAtLimit(what: string, err: unknown): void {
    try {
      this.gate.logger.warn({ ...this.log, err: String((err as Error)?.message ?? err) }, `MQTT client disconnected: ${what} refused at a limit`);
    } catch {
      // the error path must not throw
    }
    this.disconnect(RC.quotaExceeded, `${what} refused: ${String((err as Error)?.message ?? err)}`);
  }

  /** A request the client's role forbids, where 3.1.1 has no negative answer and the gate is set to disconnect. */
  refused(what: string, err: unknown): void {
    this.disconnect(RC.notAuthorized, `${what} refused: ${String((err as Error)?.message ?? err)}`);
  }

  /** A bug or an unexpected failure in a handler: this connection ends (v5: DISCONNECT 0x83), nothing else. */
  internalError(err: unknown): void {
    this.gate.router.stats.handlerErrors++;
    const e = err instanceof Error ? err : new Error(String(err));
    this.safeLog({ ...this.log, err: e.message, stack: e.stack }, 'MQTT handler failed');
    try {
      this.disconnect(RC.implementationSpecific, 'internal error');
    } catch {
      // the error path must not throw in turn: at least the socket goes
      this.state = 'closing';
      this.transport.destroy();
    }
  }

  /** Error-level log that never throws (a failing logger must not turn an error into a crash). */
  private safeLog(obj: object, msg: string): void {
    try {
      logError(this.gate.logger, obj, msg);
    } catch {
      // nothing left to report to
    }
  }

  /**
   * Wraps a callback that runs outside the handler's try/catch (promise settlements, timers): what
   * it throws ends this connection as an internal error instead of becoming an unhandled rejection.
   */
  guard<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
    return (...args: A) => {
      try {
        fn(...args);
      } catch (err) {
        if (err instanceof MqttError) this.protocolFailure(err.code, err.message);
        else this.internalError(err);
      }
    };
  }

  /** Ends the connection without any packet (before CONNECT is accepted). */
  abort(message: string): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.gate.stats.badInput++;
    this.gate.logger.warn(this.log, `MQTT connection closed: ${message}`);
    this.end();
  }

  /** Server-side disconnect: v5 clients get DISCONNECT `code` (+ reason string) first. */
  disconnect(code: number, reason: string): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    if (this.version === 5 && this.state === 'open') {
      const properties = this.problemInfo || code >= 0x80 ? { reasonString: reason } : undefined;
      this.send({ cmd: 'disconnect', reasonCode: code, properties });
    } else if (this.version === 5 && this.state === 'connecting' && code >= 0x80 && !this.session) {
      // An error in a v5 CONNECT: CONNACK with the reason code, then close (MQTT 5 §4.13.1).
      this.send({ cmd: 'connack', sessionPresent: false, reasonCode: code, properties: this.reason(reason) });
    }
    this.end();
  }

  shutdown(): void {
    if (this.state === 'connecting') this.end();
    else this.disconnect(RC.serverShuttingDown, 'server shutting down');
  }

  /**
   * Flushes, closes, and destroys the transport if the peer does not close in time. The session
   * leaves the connection now, not when the socket is gone: its will follows what ended the
   * connection (a DISCONNECT 0x00 discards it) even if the client id connects again meanwhile.
   */
  end(): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.framer.stop();
    this.gate.wheel.remove(this);
    if (this.corked) this.flush();
    this.transport.end();
    this.closeTimer = setTimeout(() => this.transport.destroy(), CLOSE_GRACE_MS);
    this.closeTimer.unref();
    this.detachSession();
  }

  destroy(): void {
    this.transport.destroy();
  }

  /** The transport closed (TransportSink). */
  onClose(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.framer.stop();
    this.gate.wheel.remove(this);
    clearTimeout(this.closeTimer);
    this.gate.connections.delete(this);
    this.gate.stats.connections--;
    this.detachSession();
    this.resolveClosed?.();
  }

  /** The session (if any) no longer sends through this connection; a no-op the second time. */
  private detachSession(): void {
    try {
      this.session?.detach(this, this.cleanDisconnect);
    } catch (err) {
      this.gate.logger.warn({ ...this.log, err: String(err) }, 'session detach failed');
    }
  }

  // --- output ----------------------------------------------------------------------------------

  buffered(): number {
    return this.transport.buffered();
  }

  private flush(): void {
    this.corked = false;
    this.writesCorked = 0;
    this.transport.uncork();
  }

  /** The end-of-tick flush, static so that a connection carries no closure for it. */
  private static flushCorked(conn: Connection): void {
    if (conn.corked) conn.flush();
  }

  /** Queues one packet for this tick's batch. */
  write(buf: Buffer): void {
    if (this.state === 'closed') return;
    this.gate.traffic.messagesOut++;
    this.enqueue(buf);
  }

  /** Queues bytes for this tick's batch (a packet, or the payload after a PUBLISH's head). */
  private enqueue(buf: Buffer): void {
    if (this.state === 'closed') return;
    this.gate.traffic.bytesOut += buf.length;
    if (!this.corked) {
      this.corked = true;
      this.transport.cork();
      process.nextTick(Connection.flushCorked, this);
    }
    this.transport.write(buf);
    if (++this.writesCorked >= MAX_WRITES_PER_FLUSH) this.flush();
    if (this.state !== 'closing' && pastHardLimit(this.transport.buffered(), this.gate.router.limits, this.gate.router.stats)) this.disconnectSlow();
  }

  /** Past the hard send-buffer limit (counted in the router's stats by the slow-consumer policy). */
  private disconnectSlow(): void {
    this.gate.stats.slowConsumers++;
    this.gate.logger.warn(this.log, 'MQTT client disconnected: send buffer over the hard limit');
    this.state = 'closing';
    this.framer.stop();
    this.transport.destroy();
  }

  private writeNow(buf: Buffer): void {
    this.write(buf);
    if (this.corked) this.flush();
  }

  /** Encodes and sends a control packet (never larger than the client's Maximum Packet Size). */
  send(packet: Packet): void {
    if (this.state === 'closed') return;
    const first = SHORT_ACK[packet.cmd];
    if (first !== undefined && this.maxPacketOut >= 4 && !(packet as { properties?: object }).properties && !(packet as { reasonCode?: number }).reasonCode) {
      // PUBACK / PUBREC / PUBREL / PUBCOMP, success without properties: the 4-byte short form
      // (what mqtt-packet generates for it too), without the generic encoder.
      const id = (packet as { messageId?: number }).messageId ?? 0;
      this.write(Buffer.from([first, 2, id >> 8, id & 0xff]));
      return;
    }
    const opts = { protocolVersion: this.version, properties: { maximumPacketSize: this.maxPacketOut } };
    let buf: Buffer;
    try {
      buf = mqttPacket.generate(packet, opts);
    } catch (err) {
      // Never thrown to callers: send() also runs from timers and promise callbacks.
      if (packet.cmd !== 'disconnect') this.internalError(err);
      else this.end();
      return;
    }
    if (buf.length > this.maxPacketOut) {
      this.gate.logger.debug({ ...this.log, cmd: packet.cmd }, 'packet larger than the client accepts: not sent');
      return;
    }
    this.write(buf);
  }

  /**
   * Reserves the place of an acknowledgement (PUBACK / PUBREC) so acknowledgements go out in the
   * order the PUBLISH packets came, even when routing completes out of order (durable writes).
   */
  reserveAck(): { packet: Packet | undefined } {
    const slot = { packet: undefined as Packet | undefined };
    (this.acks ??= []).push(slot);
    return slot;
  }

  /** Fills a reserved place; sends every acknowledgement that is now first in line. */
  settleAck(slot: { packet: Packet | undefined }, packet: Packet): void {
    slot.packet = packet;
    const acks = this.acks;
    if (!acks) return;
    while (acks.length > 0 && (acks[0] as { packet: Packet | undefined }).packet) {
      this.send((acks.shift() as { packet: Packet }).packet);
    }
  }

  /** An acknowledgement decided at once, still queued behind earlier ones. */
  ack(packet: Packet): void {
    if (!this.acks || this.acks.length === 0) this.send(packet);
    else this.settleAck(this.reserveAck(), packet);
  }

  /** The reason string property, when the client did not ask us to leave it out. */
  reason(text: string): { reasonString: string } | undefined {
    return this.version === 5 && this.problemInfo ? { reasonString: text } : undefined;
  }

  sendPubrel(packetId: number): void {
    this.send({ cmd: 'pubrel', messageId: packetId, reasonCode: 0 });
  }

  sendPublish(out: Outbound, dup: boolean): boolean {
    if (this.state === 'closed') return true; // keep it in flight: retransmitted on reconnect
    const gate = this.gate;
    // QoS 0 is droppable (the slow-consumer policy of lib/transport, shared with WAMP events).
    if (out.qos === 0) {
      const verdict = droppableVerdict(this.transport.buffered(), gate.router.limits, gate.router.stats);
      if (verdict === DISCONNECT && this.state !== 'closing') this.disconnectSlow();
      if (verdict !== SEND) {
        gate.stats.droppedQos0++;
        if (verdict !== DISCONNECT) gate.dropped.slowConsumer++;
        return false;
      }
    }
    let alias: number | undefined;
    let aliasOnly = false;
    let newAlias: string | undefined;
    if (this.topicAliasMaxOut > 0 && out.pub) {
      const topic = topicOf(out.pub);
      this.outAliases ??= new Map();
      alias = this.outAliases.get(topic);
      if (alias !== undefined) aliasOnly = true;
      else if (this.outAliases.size < this.topicAliasMaxOut) {
        alias = this.outAliases.size + 1;
        newAlias = topic;
      }
    }
    const frame = publishFrame(out, this.version, alias, aliasOnly, Date.now(), dup);
    if (!frame) {
      gate.stats.expired++;
      gate.dropped.expired++;
      return false;
    }
    if (frame.size > this.maxPacketOut) {
      gate.stats.droppedTooLarge++;
      gate.dropped.tooLarge++;
      return false;
    }
    if (newAlias !== undefined) this.outAliases?.set(newAlias, alias as number);
    if (frame.idOffset < 0) {
      this.write(frame.head);
    } else {
      const head = Buffer.allocUnsafe(frame.head.length);
      frame.head.copy(head);
      head.writeUInt16BE(out.packetId, frame.idOffset);
      if (dup) head[0] = (head[0] as number) | 0x08;
      this.write(head);
    }
    if (frame.payload.length > 0) this.enqueue(frame.payload);
    gate.traffic.deliveries++;
    return true;
  }
}
