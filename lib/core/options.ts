// WAMP option dictionaries (as sent on the wire, and as the local client API takes them) turned
// into core options, with every value type-checked: a wrong type is an invalid_argument error.
import { ErrorUri, RouterError } from './errors.ts';
import { isValidId } from './ids.ts';
import { headersFromAttribute, MQTT_ATTRIBUTE } from './mqtt-attribute.ts';
import type { CallOptions, Dict, InterruptMode, InvokePolicy, MatchPolicy, PublishOptions, RegisterOptions, SubscribeOptions } from './types.ts';

function bad(name: string, expected: string): RouterError {
  return new RouterError(ErrorUri.invalidArgument, `option '${name}' must be ${expected}`);
}

function bool(o: Dict, name: string): boolean | undefined {
  const v = o[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw bad(name, 'a boolean');
  return v;
}

function num(o: Dict, name: string, min = 0): number | undefined {
  const v = o[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw bad(name, `a number >= ${min}`);
  return v;
}

function str(o: Dict, name: string): string | undefined {
  const v = o[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(name, 'a string');
  return v;
}

function list<T>(o: Dict, name: string, type: 'number' | 'string'): T[] | undefined {
  const v = o[name];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === type)) throw bad(name, `a list of ${type}s`);
  return v as T[];
}

function oneOf<T extends string>(o: Dict, name: string, allowed: readonly T[]): T | undefined {
  const v = str(o, name);
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) throw bad(name, `one of ${allowed.join(', ')}`);
  return v as T;
}

export function asDict(v: unknown, what: string): Dict {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) {
    throw new RouterError(ErrorUri.invalidArgument, `${what} must be a dictionary`);
  }
  return v as Dict;
}

const MATCH: readonly MatchPolicy[] = ['exact', 'prefix', 'wildcard'];
const INVOKE: readonly InvokePolicy[] = ['single', 'roundrobin', 'random', 'first', 'last'];
const CANCEL: readonly InterruptMode[] = ['skip', 'kill', 'killnowait'];

const PUBLISH_KEYS = new Set([
  'acknowledge', 'exclude_me', 'exclude', 'exclude_authid', 'exclude_authrole', 'eligible', 'eligible_authid', 'eligible_authrole',
  'disclose_me', 'retain', 'when', 'will', 'watch', 'force',
]);
const SUBSCRIBE_KEYS = new Set(['match', 'get_retained', 'share_group', 'after', 'snapshot', 'filter']);

/** Unknown options are refused, so a typo is not silently ignored; `_custom` keys (WAMP custom attributes) pass. */
function onlyKnown(o: Dict, known: Set<string>, what: string): void {
  for (const k of Object.keys(o)) {
    if (!known.has(k) && !k.startsWith('_') && !k.startsWith('x_') && !k.startsWith('ppt_')) {
      throw new RouterError(ErrorUri.invalidArgument, `unknown ${what} option '${k}'`);
    }
  }
}

function jsonValue(o: Dict, name: string): unknown {
  const v = o[name];
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol') throw bad(name, 'a JSON value (null for absent)');
  return v;
}

function isEmpty(o: Dict): boolean {
  for (const _ in o) return false;
  return true;
}

export function publishOptions(o: Dict): PublishOptions {
  // Most publishes carry no options at all.
  if (isEmpty(o)) return {};
  onlyKnown(o, PUBLISH_KEYS, 'publish');
  const opts: PublishOptions = {
    acknowledge: bool(o, 'acknowledge'),
    excludeMe: bool(o, 'exclude_me'),
    exclude: list<number>(o, 'exclude', 'number'),
    excludeAuthid: list<string>(o, 'exclude_authid', 'string'),
    excludeAuthrole: list<string>(o, 'exclude_authrole', 'string'),
    eligible: list<number>(o, 'eligible', 'number'),
    eligibleAuthid: list<string>(o, 'eligible_authid', 'string'),
    eligibleAuthrole: list<string>(o, 'eligible_authrole', 'string'),
    discloseMe: bool(o, 'disclose_me'),
    retain: bool(o, 'retain'),
  };
  if ('when' in o) opts.when = jsonValue(o, 'when');
  if ('will' in o) opts.will = jsonValue(o, 'will');
  if ('watch' in o) opts.watch = bool(o, 'watch');
  if ('force' in o) opts.force = bool(o, 'force');
  if (MQTT_ATTRIBUTE in o) opts.headers = headersFromAttribute(o[MQTT_ATTRIBUTE], Date.now());
  return opts;
}

export function subscribeOptions(o: Dict): SubscribeOptions {
  onlyKnown(o, SUBSCRIBE_KEYS, 'subscribe');
  const opts: SubscribeOptions = { match: oneOf(o, 'match', MATCH) ?? 'exact', getRetained: bool(o, 'get_retained'), shareGroup: str(o, 'share_group') };
  if (o.after !== undefined && o.after !== null) {
    if (!isValidId(o.after)) throw new RouterError(ErrorUri.invalidArgument, `option 'after' must be an event id (an integer in [0, 2^53]), got ${typeof o.after === 'bigint' ? o.after : JSON.stringify(o.after)}`);
    opts.after = o.after;
  }
  const snapshot = bool(o, 'snapshot');
  if (snapshot) {
    if (opts.after === undefined) throw new RouterError(ErrorUri.invalidArgument, "option 'snapshot' needs 'after'");
    opts.snapshot = true;
  }
  if (o.filter !== undefined && o.filter !== null) opts.filter = asDict(o.filter, "option 'filter'");
  return opts;
}

/** The longest delay a Node timer can hold (2^31-1 ms); longer ones would fire at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

export function callOptions(o: Dict): CallOptions {
  // Most calls carry no options at all.
  if (isEmpty(o)) return {};
  const timeout = num(o, 'timeout');
  if (timeout !== undefined && timeout > MAX_TIMEOUT_MS) throw bad('timeout', `at most ${MAX_TIMEOUT_MS} ms`);
  return { timeout, receiveProgress: bool(o, 'receive_progress'), progress: bool(o, 'progress'), discloseMe: bool(o, 'disclose_me') };
}

export function registerOptions(o: Dict): RegisterOptions {
  const concurrency = num(o, 'concurrency', 1);
  if (concurrency !== undefined && !Number.isInteger(concurrency)) throw bad('concurrency', 'an integer >= 1');
  return { match: oneOf(o, 'match', MATCH) ?? 'exact', invoke: oneOf(o, 'invoke', INVOKE) ?? 'single', concurrency, forceReregister: bool(o, 'force_reregister') };
}

export function cancelMode(o: Dict): InterruptMode {
  return oneOf(o, 'mode', CANCEL) ?? 'killnowait';
}
