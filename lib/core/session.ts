// A session: one client attached to one realm through some gate. Gates call these methods for
// what their client asks; core answers through the session's Peer.
import { ErrorUri, RouterError } from './errors.ts';
import type { Payload } from './payload.ts';
import type { CallRecord, Invocation, Registration, SessionHandle, SessionIdentity, SessionRealm, Subscription, Testament } from './routing-types.ts';
import type { CallOptions, Dict, EventDelivery, InterruptMode, Pattern, Peer, Protocol, PublishOptions, RegisterOptions, SubscribeOptions, SubscriberInfo } from './types.ts';

export type { SessionIdentity, Testament } from './routing-types.ts';

export class Session implements SessionHandle {
  // Created on first use: most sessions (every idle one) never subscribe, register or call, and
  // the four collections were ~750 B of each idle connection.
  private subs: Set<Subscription> | undefined;
  private regs: Set<Registration> | undefined;
  private pendingCalls: Map<number, CallRecord> | undefined;
  private pendingInvocations: Map<number, Invocation> | undefined;
  private wills: Record<'destroyed' | 'detached', Testament[]> | undefined;
  private open = true;
  /** Live events held per subscription while its history replay is read. */
  private held: Map<number, EventDelivery[]> | undefined;

  constructor(
    readonly id: number,
    readonly realm: SessionRealm,
    readonly identity: SessionIdentity,
    readonly peer: Peer,
  ) {}

  /** WAMP testaments by scope, made on first use (few sessions leave any). */
  get testaments(): Record<'destroyed' | 'detached', Testament[]> {
    return (this.wills ??= { destroyed: [], detached: [] });
  }

  get subscriptions(): Set<Subscription> {
    return (this.subs ??= new Set());
  }

  get registrations(): Set<Registration> {
    return (this.regs ??= new Set());
  }

  /** Calls this session made that are not answered yet, by the caller's request id. */
  get calls(): Map<number, CallRecord> {
    return (this.pendingCalls ??= new Map());
  }

  /** Invocations this session must answer, by invocation id. */
  get invocations(): Map<number, Invocation> {
    return (this.pendingInvocations ??= new Map());
  }

  get authid(): string {
    return this.identity.authid;
  }

  get authrole(): string {
    return this.identity.authrole;
  }

  get protocol(): Protocol {
    return this.identity.protocol;
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Called by the broker for each event this session receives. */
  deliver(delivery: EventDelivery, subscriber: SubscriberInfo): void {
    if (!this.open) return;
    const held = this.held?.get(delivery.subscriptionId);
    if (held && !delivery.retained) {
      held.push(delivery);
      return;
    }
    try {
      this.peer.event(delivery, subscriber);
    } catch (err) {
      // An event this client cannot take (e.g. nested deeper than its serializer allows) is dropped
      // for it alone; the rest of the fan-out and the publisher carry on.
      this.realm.stats.droppedEvents++;
      this.realm.logger.warn({ err, session: this.id, topic: delivery.publication.topic.join('/') }, 'event could not be delivered to one subscriber');
    }
  }

  holdEvents(subscriptionId: number): void {
    const held = (this.held ??= new Map());
    if (!held.has(subscriptionId)) held.set(subscriptionId, []);
  }

  /** Stops holding and returns what was held. */
  releaseEvents(subscriptionId: number): EventDelivery[] {
    const list = this.held?.get(subscriptionId) ?? [];
    this.held?.delete(subscriptionId);
    // Gone when empty: every delivery looks here first.
    if (this.held?.size === 0) this.held = undefined;
    return list;
  }

  subscribe(pattern: Pattern, options: SubscribeOptions = {}): Subscription {
    this.assertOpen();
    return this.realm.subscribe(this, pattern, options);
  }

  unsubscribe(subscriptionId: number): void {
    this.assertOpen();
    this.realm.unsubscribe(this, subscriptionId);
  }

  /** Resolves with the publication id once the publication is routed (and committed, if durable). */
  publish(topic: string[], payload: Payload, options: PublishOptions = {}): Promise<number> {
    if (!this.open) return Promise.reject(new RouterError(ErrorUri.canceled, 'session closed'));
    return this.realm.publish(this, topic, payload, options);
  }

  /** publish() for the gates' hot path: the id at once when nothing waits for a commit; throws a refusal. */
  publishNow(topic: string[], payload: Payload, options: PublishOptions = {}): number | Promise<number> {
    this.assertOpen();
    return this.realm.publishNow(this, topic, payload, options);
  }

  register(pattern: Pattern, options: RegisterOptions = {}): Registration {
    this.assertOpen();
    return this.realm.register(this, pattern, options);
  }

  unregister(registrationId: number): void {
    this.assertOpen();
    this.realm.unregister(this, registrationId);
  }

  /** Starts (or continues, for progressive invocations) a call; answers arrive through the peer. */
  call(requestId: number, procedure: string, payload: Payload, options: CallOptions = {}): void {
    this.assertOpen();
    this.realm.call(this, requestId, procedure, payload, options);
  }

  cancel(requestId: number, mode: InterruptMode = 'killnowait'): void {
    if (this.open) this.realm.dealer.cancel(this, requestId, mode);
  }

  yield(invocationId: number, payload: Payload, progress = false): void {
    if (this.open) this.realm.dealer.yield(this, invocationId, payload, progress);
  }

  invocationError(invocationId: number, uri: string, payload: Payload, details: Dict = {}): void {
    if (this.open) this.realm.dealer.error(this, invocationId, uri, payload, details);
  }

  /** Detaches the session from its realm: fires testaments, fails pending calls, drops subscriptions. */
  leave(): void {
    if (!this.open) return;
    this.open = false;
    this.realm.detach(this);
  }

  private assertOpen(): void {
    if (!this.open) throw new RouterError(ErrorUri.canceled, 'session closed');
  }
}
