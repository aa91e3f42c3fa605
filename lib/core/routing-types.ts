// The shapes sessions, the broker, the dealer and the realm share. They refer to each other (a
// session holds its subscriptions, a subscription its sessions, a call its caller and registration),
// so they are declared together here as interfaces, below the classes that implement them: that
// keeps core free of import cycles (session.ts no longer needs realm.ts, broker.ts or
// registration.ts, and they need only this file).
import type { Action, Limits } from './config.ts';
import type { History } from './history.ts';
import type { Logger } from './log.ts';
import type { Payload } from './payload.ts';
import type { Retention } from './retention.ts';
import type { Store } from './store.ts';
import type {
  CallOptions,
  Dict,
  EventDelivery,
  InterruptMode,
  InvokePolicy,
  Pattern,
  Peer,
  Protocol,
  PublishOptions,
  RegisterOptions,
  RouterStats,
  SubscribeOptions,
  SubscriberInfo,
} from './types.ts';

export interface SessionIdentity {
  authid: string;
  authrole: string;
  authmethod: string;
  authprovider: string;
  protocol: Protocol;
  /** Free-form transport facts for the session meta API (peer address, kind...). */
  transport: Dict;
}

export interface Testament {
  id: number;
  topic: string[];
  payload: Payload;
  options: PublishOptions;
}

/** A session as the broker, the dealer and the meta API see it (core's Session implements it). */
export interface SessionHandle {
  readonly id: number;
  readonly identity: SessionIdentity;
  readonly peer: Peer;
  readonly authid: string;
  readonly authrole: string;
  readonly protocol: Protocol;
  readonly isOpen: boolean;
  readonly subscriptions: Set<Subscription>;
  readonly registrations: Set<Registration>;
  /** Calls this session made that are not answered yet, by the caller's request id. */
  readonly calls: Map<number, CallRecord>;
  /** Invocations this session must answer, by invocation id. */
  readonly invocations: Map<number, Invocation>;
  testaments: Record<'destroyed' | 'detached', Testament[]>;
  /** Called by the broker for each event this session receives. */
  deliver(delivery: EventDelivery, subscriber: SubscriberInfo): void;
}

/** One subscription pattern (or share group) with its subscribers. */
export interface Subscription {
  readonly id: number;
  readonly pattern: Pattern;
  readonly key: string;
  readonly shareGroup: string | undefined;
  readonly created: string;
  readonly subscribers: Map<SessionHandle, SubscriberInfo>;
  /** The subscribers in join order (a share group picks among them). */
  readonly members: SessionHandle[];
  /** Round-robin pick among the share group's members that pass `eligible`. */
  pickMember(eligible: (s: SessionHandle) => boolean): SessionHandle | undefined;
}

export interface Callee {
  session: SessionHandle;
  /** 0 = unlimited. */
  concurrency: number;
  running: number;
  once: boolean;
}

/** One procedure pattern with its callees, invoke policy, concurrency and wait queue. */
export interface Registration {
  readonly id: number;
  readonly pattern: Pattern;
  readonly key: string;
  readonly policy: InvokePolicy;
  readonly callees: Callee[];
  readonly created: string;
  /** Calls accepted while every callee was at its concurrency limit, oldest first. */
  readonly waiting: CallRecord[];
  /** How specific the pattern is, for choosing among matching pattern registrations. */
  readonly rank: number;
  callee(session: SessionHandle): Callee | undefined;
  hasFree(): boolean;
  /** The callee the policy picks among those with spare concurrency. */
  pick(): Callee | undefined;
}

/** One call as the dealer tracks it, from CALL to its final RESULT or ERROR. */
export interface CallRecord {
  caller: SessionHandle;
  requestId: number;
  procedure: string;
  payload: Payload;
  options: CallOptions;
  registration: Registration;
  invocation?: Invocation;
  timer?: NodeJS.Timeout;
  /** Chunks of a progressive invocation that arrived before a callee was free (created on the first: most calls have none). */
  pendingChunks?: { payload: Payload; progress: boolean }[];
  done: boolean;
  disclose: boolean;
  /** A progressive invocation whose final (non-progress) chunk arrived: no more input. */
  closedInput?: boolean;
}

export interface Invocation {
  id: number;
  call: CallRecord;
  callee: Callee;
  /** How the caller canceled it, if it did. */
  interrupted?: InterruptMode;
}

/** What a session answers its callee's side of a call through (the realm's dealer). */
export interface CallAnswers {
  cancel(session: SessionHandle, requestId: number, mode: InterruptMode): void;
  yield(session: SessionHandle, invocationId: number, payload: Payload, progress: boolean): void;
  error(session: SessionHandle, invocationId: number, uri: string, payload: Payload, details: Dict): void;
}

/** What a session (and the gates, through `session.realm`) need of the realm it is attached to. */
export interface SessionRealm {
  readonly name: string;
  readonly limits: Limits;
  readonly stats: RouterStats;
  readonly logger: Logger;
  readonly store: Store | undefined;
  readonly retention: Retention;
  readonly history: History;
  readonly dealer: CallAnswers;
  authorize(session: SessionHandle, action: Action, levels: readonly string[], uri?: string): void;
  /** True when a publication on `topic` would reach a subscriber or be kept in history. */
  observed(topic: readonly string[]): boolean;
  subscribe(session: SessionHandle, pattern: Pattern, options: SubscribeOptions): Subscription;
  unsubscribe(session: SessionHandle, subscriptionId: number): void;
  publish(session: SessionHandle, topic: string[], payload: Payload, options: PublishOptions): Promise<number>;
  publishNow(session: SessionHandle, topic: string[], payload: Payload, options: PublishOptions): number | Promise<number>;
  routePublication(topic: string[], payload: Payload, options: PublishOptions, from: SessionHandle | undefined): Promise<number>;
  register(session: SessionHandle, pattern: Pattern, options: RegisterOptions): Registration;
  unregister(session: SessionHandle, registrationId: number): void;
  call(session: SessionHandle, requestId: number, procedure: string, payload: Payload, options: CallOptions): void;
  deliverRetained(session: SessionHandle, sub: Subscription): number;
  replay(session: SessionHandle, sub: Subscription, afterId: number, snapshot: boolean): Promise<void>;
  detach(session: SessionHandle): void;
}
