// One WAMP connection: the session state machine over a transport, the error boundary, and the
// Peer through which core delivers events, invocations, results and errors to this client.
import { ErrorUri, RouterError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { headersAsAttribute, MQTT_ATTRIBUTE } from '../core/mqtt-attribute.ts';
import { Payload } from '../core/payload.ts';
import type { Router } from '../core/router.ts';
import type { Session } from '../core/session.ts';
import type { Dict, EventDelivery, InterruptMode, InvocationDetails, Peer, ResultDetails, TrafficCounters } from '../core/types.ts';
import type { AuthResult } from '../core/auth/types.ts';
import type { Conn, ConnState, PendingAuth } from './conn.ts';
import { DeferredArgs } from './deferred-args.ts';
import { establishedHandlers, handleAuthenticate, handleHello } from './handlers/index.ts';
import { MessageType, routerRoles } from './message-types.ts';
import { DISCONNECT, droppableVerdict, SEND } from '../transport/slow-consumer.ts';
import type { WampTransport, WampTransportHandler } from './transport.ts';
import { ProtocolViolation } from './validate.ts';
import { isTooDeep, isUnsupportedType } from './wire-values.ts';

export interface WampGateContext {
  router: Router;
  logger: Logger;
  /** router.stats.traffic.wamp, one property away on the hot path. */
  traffic: TrafficCounters;
  /** Debug level: one line per message received. */
  trace?: boolean;
}

/** How long to wait for the client's GOODBYE answer before closing the transport. */
const GOODBYE_TIMEOUT_MS = 2000;

/** Appends args/kwargs to a message the way the spec wants: omitted when empty. */
export function withPayload(msg: unknown[], payload: Payload): unknown[] {
  const args = payload.args;
  const kwargs = payload.kwargs;
  if (kwargs) msg.push(args ?? [], kwargs);
  else if (args) msg.push(args);
  return msg;
}

/** HELLO.Details.agent as shown by the session meta API: a string, cut to a sane length. */
function agentOf(details: Dict | undefined): string | undefined {
  const agent = details?.agent;
  return typeof agent === 'string' ? agent.slice(0, 256) : undefined;
}

/** The HELLO timer's callback, shared by every connection (no closure per connection). */
function helloTimedOut(conn: WampConnection): void {
  conn.abort(ErrorUri.protocolViolation, 'no HELLO/AUTHENTICATE within the time allowed');
}

export class WampConnection implements WampTransportHandler, Peer, Conn {
  state: ConnState = 'hello';
  session: Session | undefined;
  /** Set while a CHALLENGE waits for AUTHENTICATE. */
  pendingAuth: PendingAuth | undefined;
  private goodbyeTimer: NodeJS.Timeout | undefined;

  /** A connection must complete HELLO (and any CHALLENGE) within this time. */
  private helloTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly ctx: WampGateContext,
    readonly transport: WampTransport,
  ) {
    this.helloTimer = setTimeout(helloTimedOut, ctx.router.limits.helloTimeoutMs, this);
    this.helloTimer.unref?.();
  }

  /** Cleared and dropped: a cleared Timeout kept on an open session would cost ~200 bytes for nothing. */
  private stopHelloTimer(): void {
    clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
  }

  get log(): Logger {
    return this.ctx.logger;
  }

  // --- transport events ---

  onMessage(msg: unknown[], bytes: number): void {
    const traffic = this.ctx.traffic;
    traffic.messagesIn++;
    traffic.bytesIn += bytes;
    if (this.ctx.trace) this.log.debug({ event: 'wamp.message', session: this.session?.id, type: msg[0], address: this.transport.remoteAddress }, 'WAMP message in');
    try {
      this.dispatch(msg);
    } catch (err) {
      if (err instanceof ProtocolViolation) {
        this.protocolViolation(err.message);
      } else {
        this.log.error({ err, type: msg[0] }, 'unexpected error handling a WAMP message');
        this.abort(ErrorUri.protocolViolation, 'internal error handling the message');
      }
    }
  }

  onProtocolError(message: string): void {
    const stats = this.ctx.router.stats;
    if (isTooDeep(message)) stats.wampTooDeep++;
    else if (isUnsupportedType(message)) stats.wampUnsupportedTypes++;
    this.protocolViolation(message);
  }

  onClose(): void {
    this.state = 'closed';
    this.stopHelloTimer();
    if (this.goodbyeTimer) clearTimeout(this.goodbyeTimer);
    this.leaveRealm();
  }

  /** Detaches the session, if any; a failure there is logged and never stops the connection closing. */
  private leaveRealm(): void {
    const session = this.session;
    if (!session) return;
    try {
      session.leave();
    } catch (err) {
      this.log.error({ err, session: session.id }, 'a WAMP session failed to leave its realm');
    }
  }

  private dispatch(msg: unknown[]): void {
    const type = msg[0];
    switch (this.state) {
      case 'hello':
        if (type !== MessageType.HELLO) throw new ProtocolViolation(`expected HELLO, got message type ${String(type)}`);
        handleHello(this, msg);
        return;
      case 'challenge':
        if (type !== MessageType.AUTHENTICATE) throw new ProtocolViolation(`expected AUTHENTICATE, got message type ${String(type)}`);
        handleAuthenticate(this, msg);
        return;
      case 'authenticating':
        throw new ProtocolViolation(`message type ${String(type)} before WELCOME`);
      case 'closing':
        // Waiting for the client's GOODBYE after ours; anything else is dropped.
        if (type === MessageType.GOODBYE) this.transport.close(1000, 'goodbye');
        return;
      case 'closed':
        return;
      case 'open': {
        const handler = establishedHandlers[type as number];
        if (!handler) throw new ProtocolViolation(`unexpected message type ${String(type)} in an established session`);
        handler(this, msg);
      }
    }
  }

  welcome(realm: string, auth: AuthResult, sessionId?: number, helloDetails?: Dict): void {
    const t = this.transport;
    try {
      this.session = this.ctx.router.attach(
        realm,
        // Spelled out, not spread: `{ ...auth, more }` gives every session its own hidden class (~280 B each).
        {
          authid: auth.authid,
          authrole: auth.authrole,
          authmethod: auth.authmethod,
          authprovider: auth.authprovider,
          protocol: 'wamp',
          transport: { type: t.kind, serializer: t.serializer.name, peer: t.remoteAddress, agent: agentOf(helloDetails) },
        },
        this,
        sessionId,
      );
    } catch (err) {
      const e = err instanceof RouterError ? err : new RouterError(ErrorUri.systemShutdown, String(err));
      this.abort(e.uri, e.message);
      return;
    }
    this.state = 'open';
    this.stopHelloTimer();
    this.send([
      MessageType.WELCOME,
      this.session.id,
      { realm, authid: auth.authid, authrole: auth.authrole, authmethod: auth.authmethod, authprovider: auth.authprovider, roles: routerRoles, agent: 'kitsune' },
    ]);
  }

  // --- sending ---

  send(msg: unknown[]): void {
    if (this.state !== 'closed') this.sent(this.transport.send(msg));
  }

  /** Sends `head` followed by the payload's arguments (see encodeWithPayload). */
  private sendWithPayload(head: unknown[], payload: Payload): void {
    if (this.state !== 'closed') this.sent(this.transport.sendEncoded(this.encodeWithPayload(head, payload)));
  }

  /** Counts a message the transport took (`bytes` > 0; 0: dropped, the connection is closing). */
  private sent(bytes: number): void {
    if (bytes === 0) return;
    const traffic = this.ctx.traffic;
    traffic.messagesOut++;
    traffic.bytesOut += bytes;
  }

  /** Encodes `head` + arguments, copying the arguments' bytes when they arrived in this serializer. */
  private encodeWithPayload(head: unknown[], payload: Payload): Buffer {
    const s = this.transport.serializer;
    const encoded = payload.encodedAs(s.subprotocol);
    return encoded instanceof DeferredArgs ? encoded.encodeAfter(head) : s.encode(withPayload(head, payload));
  }

  /** ERROR answering one request; core RouterErrors carry the URI and args. */
  sendError(requestType: number, requestId: number, err: unknown): void {
    if (err instanceof ProtocolViolation) throw err;
    const e = err instanceof RouterError ? err : new RouterError('kitsune.error.internal', err instanceof Error ? err.message : String(err));
    if (!(err instanceof RouterError)) this.log.error({ err }, 'unexpected error answering a request');
    this.ctx.router.stats.errors.count(e.uri);
    this.send(withPayload([MessageType.ERROR, requestType, requestId, {}, e.uri], Payload.fromArgs(e.errorArgs, e.kwargs)));
  }

  abort(reason: string, message: string): void {
    if (this.state === 'closed') return;
    this.send([MessageType.ABORT, { message }, reason]);
    this.state = 'closed';
    this.stopHelloTimer();
    this.leaveRealm();
    this.transport.close(reason === ErrorUri.protocolViolation ? 1002 : 1000, reason);
  }

  private protocolViolation(message: string): void {
    this.ctx.router.stats.protocolErrors++;
    this.log.warn({ event: 'protocol.violation', protocol: 'wamp', remote: this.transport.remoteAddress, session: this.session?.id, message }, 'WAMP protocol violation');
    this.abort(ErrorUri.protocolViolation, message);
  }

  /** The client said GOODBYE: answer, detach, close. */
  goodbye(): void {
    this.send([MessageType.GOODBYE, {}, ErrorUri.goodbyeAndOut]);
    this.state = 'closed';
    this.leaveRealm();
    this.transport.close(1000, 'goodbye');
  }

  // --- Peer ---

  event(d: EventDelivery): void {
    const t = this.transport;
    const limits = this.ctx.router.limits;
    const verdict = droppableVerdict(t.bufferedBytes(), limits, this.ctx.router.stats);
    if (verdict !== SEND) {
      if (verdict === DISCONNECT) this.disconnectSlow();
      else this.ctx.router.stats.dropped.wamp.slowConsumer++;
      return;
    }
    // Every subscriber of one subscription gets the same EVENT: encoded once per serializer, kept
    // on the delivery they share, in the slot of the serializer's RawSocket id (1-3). A Map on the
    // publication keyed by serializer and subscription cost ~5 ns a delivery to look up.
    const slot = t.serializer.rawSocketId;
    const encoded = (d.encoded ??= new Array<unknown>(4));
    let frame = encoded[slot] as Buffer | undefined;
    if (frame === undefined) {
      frame = this.encodeWithPayload(this.eventHead(d), d.publication.payload);
      encoded[slot] = frame;
    }
    const bytes = t.sendEncoded(frame);
    if (bytes === 0) return;
    const traffic = this.ctx.traffic;
    traffic.messagesOut++;
    traffic.bytesOut += bytes;
    traffic.deliveries++;
  }

  private eventHead(d: EventDelivery): unknown[] {
    const pub = d.publication;
    const details: Dict = {};
    if (pub.publisher) {
      details.publisher = pub.publisher.session;
      details.publisher_authid = pub.publisher.authid;
      details.publisher_authrole = pub.publisher.authrole;
    }
    if (d.pattern) details.topic = pub.topic.join('.');
    if (d.retained) details.retained = true;
    if (pub.headers !== undefined) {
      const mqtt = headersAsAttribute(pub.headers, Date.now());
      if (mqtt !== undefined) details[MQTT_ATTRIBUTE] = mqtt;
    }
    return [MessageType.EVENT, d.subscriptionId, pub.id, details];
  }

  invocation(invocationId: number, registrationId: number, payload: Payload, d: InvocationDetails): void {
    const details: Dict = {};
    if (d.caller !== undefined) {
      details.caller = d.caller;
      details.caller_authid = d.callerAuthid;
      details.caller_authrole = d.callerAuthrole;
    }
    if (d.procedure !== undefined) details.procedure = d.procedure;
    if (d.receiveProgress) details.receive_progress = true;
    if (d.progress) details.progress = true;
    if (d.timeout) details.timeout = d.timeout;
    this.sendWithPayload([MessageType.INVOCATION, invocationId, registrationId, details], payload);
  }

  interrupt(invocationId: number, mode: InterruptMode, reason: string): void {
    this.send([MessageType.INTERRUPT, invocationId, { mode, reason }]);
  }

  result(requestId: number, payload: Payload, details: ResultDetails): void {
    this.sendWithPayload([MessageType.RESULT, requestId, details.progress ? { progress: true } : {}], payload);
  }

  callError(requestId: number, error: string, payload: Payload, details: Dict): void {
    this.ctx.router.stats.errors.count(error);
    this.sendWithPayload([MessageType.ERROR, MessageType.CALL, requestId, details, error], payload);
  }

  unsubscribed(subscriptionId: number, reason: string): void {
    this.send([MessageType.UNSUBSCRIBED, 0, { subscription: subscriptionId, reason }]);
  }

  unregistered(registrationId: number, reason: string): void {
    this.send([MessageType.UNREGISTERED, 0, { registration: registrationId, reason }]);
  }

  /** The router closes this session (meta kill, shutdown): GOODBYE, then wait for the answer. */
  kill(reason: string, message: string): void {
    if (this.state !== 'open') return;
    this.send([MessageType.GOODBYE, { message }, reason]);
    this.state = 'closing';
    this.leaveRealm();
    this.goodbyeTimer = setTimeout(() => this.transport.close(1000, 'goodbye timeout'), GOODBYE_TIMEOUT_MS);
    this.goodbyeTimer.unref?.();
  }

  bufferedBytes(): number {
    return this.transport.bufferedBytes();
  }

  /** Counted by droppableVerdict. */
  private disconnectSlow(): void {
    this.log.warn({ remote: this.transport.remoteAddress, session: this.session?.id }, 'disconnecting a slow consumer past the hard send-buffer limit');
    this.state = 'closed';
    this.leaveRealm();
    this.transport.terminate();
  }
}
