// The topic model: WAMP `a.b.c` and MQTT `a/b/c` both parse to ['a','b','c'].
import { ErrorUri, RouterError } from './errors.ts';
import type { MatchPolicy, Pattern } from './types.ts';

// Loose WAMP URI rule: components without whitespace, '.' or '#'.
const LOOSE_COMPONENT = /^[^\s.#]*$/;

function invalid(uri: string, why: string): RouterError {
  return new RouterError(ErrorUri.invalidUri, `invalid URI '${uri}': ${why}`);
}

/** Size bounds on topics, filters and URIs (part of the router's Limits). */
export interface TopicLimits {
  /** Levels (URI components) in a topic, filter or URI; `#` counts as one. */
  maxTopicLevels: number;
  /** Characters (UTF-16 code units) in a topic, filter or URI. */
  maxTopicLength: number;
}

/**
 * 128 levels: EMQX's default, sixteen times AWS IoT's 8, far beyond real topics. Each level of a
 * subscription is a trie node (about 0.5 KB with its maps), so a filter costs at most ~64 KB.
 * 65,535 characters: MQTT's own bound on a topic (in bytes), applied to WAMP URIs alike.
 */
export const defaultTopicLimits: TopicLimits = { maxTopicLevels: 128, maxTopicLength: 65_535 };

/** A topic, filter or URI over a TopicLimits bound: invalid (wamp.error.invalid_uri), and counted as a limit refusal. */
export class TopicSizeError extends RouterError {
  constructor(uri: string, why: string) {
    super(ErrorUri.invalidUri, `invalid URI '${uri.length > 200 ? `${uri.slice(0, 200)}...` : uri}': ${why}`);
  }
}

function checkLength(text: string, limits: TopicLimits): void {
  if (text.length > limits.maxTopicLength) throw new TopicSizeError(text, `longer than ${limits.maxTopicLength} characters`);
}

/** Throws TopicSizeError when `count` levels are more than the limit allows. */
export function checkLevels(text: string, count: number, limits: TopicLimits): void {
  if (count > limits.maxTopicLevels) throw new TopicSizeError(text, `more than ${limits.maxTopicLevels} levels`);
}

// Parsed URIs and MQTT topic names of recent publishes and calls: the same few topics come back all
// the time. The arrays are shared, so callers never mutate them. Sharing also matters to the GC: a
// fresh array per publish was a new key in the permission cache (a WeakMap) every time, and with
// QoS 1 messages in flight at each scavenge that kept megabytes of young objects alive per scavenge.
const levelCache = new Map<string, string[]>();
const mqttLevelCache = new Map<string, string[]>();
const LEVEL_CACHE_MAX = 10_000;

function remember(cache: Map<string, string[]>, key: string, levels: string[]): string[] {
  if (cache.size >= LEVEL_CACHE_MAX) cache.clear();
  cache.set(key, levels);
  return levels;
}

/** Levels of a concrete WAMP URI (topic or procedure). */
export function wampLevels(uri: unknown, limits: TopicLimits = defaultTopicLimits): string[] {
  if (typeof uri !== 'string' || uri.length === 0) throw invalid(String(uri), 'must be a non-empty string');
  const cached = levelCache.get(uri);
  if (cached) {
    checkLength(uri, limits);
    checkLevels(uri, cached.length, limits);
    return cached;
  }
  checkLength(uri, limits);
  const levels = uri.split('.');
  checkLevels(uri, levels.length, limits);
  for (const level of levels) {
    if (level.length === 0) throw invalid(uri, 'empty component');
    if (!LOOSE_COMPONENT.test(level)) throw invalid(uri, 'whitespace or # in a component');
  }
  return remember(levelCache, uri, levels);
}

/** A WAMP subscription/registration URI with its match policy. */
export function wampPattern(uri: unknown, match: MatchPolicy = 'exact', limits: TopicLimits = defaultTopicLimits): Pattern {
  if (typeof uri !== 'string') throw invalid(String(uri), 'must be a string');
  if (match === 'exact') return { match, levels: wampLevels(uri, limits), multi: false, uri };
  checkLength(uri, limits);
  const levels = uri.split('.');
  checkLevels(uri, levels.length, limits);
  for (const level of levels) {
    if (!LOOSE_COMPONENT.test(level)) throw invalid(uri, 'whitespace or # in a component');
  }
  if (match === 'wildcard') {
    if (uri.length === 0) throw invalid(uri, 'empty wildcard pattern');
    return { match, levels: levels.map((l) => (l === '' ? null : l)), multi: false, uri };
  }
  if (match === 'prefix') {
    // String prefix per the WAMP spec: the last level matches any level it starts.
    for (let i = 0; i < levels.length - 1; i++) {
      if (levels[i] === '') throw invalid(uri, 'empty component in a prefix');
    }
    return { match, levels, multi: false, uri };
  }
  throw new RouterError(ErrorUri.invalidArgument, `unknown match policy '${String(match)}'`);
}

/** Levels of an MQTT topic name (PUBLISH): no wildcards, not empty. */
export function mqttLevels(topic: string, limits: TopicLimits = defaultTopicLimits): string[] {
  checkLength(topic, limits);
  const cached = mqttLevelCache.get(topic);
  if (cached) {
    checkLevels(topic, cached.length, limits);
    return cached;
  }
  if (topic.length === 0) throw invalid(topic, 'empty topic');
  if (topic.includes('+') || topic.includes('#')) throw invalid(topic, 'wildcards are not allowed in a topic name');
  if (topic.includes('\u0000')) throw invalid(topic, 'NUL character');
  const levels = topic.split('/');
  checkLevels(topic, levels.length, limits);
  return remember(mqttLevelCache, topic, levels);
}

/** An MQTT topic filter: `+` is one level, a trailing `#` is any number of levels (including none). */
export function mqttPattern(filter: string, limits: TopicLimits = defaultTopicLimits): Pattern {
  if (filter.length === 0) throw invalid(filter, 'empty filter');
  checkLength(filter, limits);
  if (filter.includes('\u0000')) throw invalid(filter, 'NUL character');
  const parts = filter.split('/');
  checkLevels(filter, parts.length, limits);
  const levels: (string | null)[] = [];
  let multi = false;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    if (p === '#') {
      if (i !== parts.length - 1) throw invalid(filter, "'#' must be the last level");
      multi = true;
    } else if (p === '+') {
      levels.push(null);
    } else if (p.includes('+') || p.includes('#')) {
      throw invalid(filter, 'a wildcard must occupy a whole level');
    } else {
      levels.push(p);
    }
  }
  const wild = multi || levels.includes(null);
  return { match: wild ? 'wildcard' : 'exact', levels, multi, uri: filter };
}

/**
 * Topics that wildcards at the first level do not match: MQTT's '$' topics and the router's own
 * `wamp.*` meta events (an MQTT '#' subscriber should not receive session meta events).
 */
export function isReservedFirstLevel(level: string): boolean {
  return level.charCodeAt(0) === 36 || level === 'wamp';
}

export function toWampUri(levels: readonly string[]): string {
  return levels.join('.');
}

export function toMqttTopic(levels: readonly string[]): string {
  return levels.join('/');
}

/** True when `levels` can be written as a WAMP URI (no empty level, no '.' inside a level). */
export function isWampNameable(levels: readonly string[]): boolean {
  for (const l of levels) if (l.length === 0 || l.includes('.')) return false;
  return true;
}

/**
 * A key that identifies a pattern (same key = same subscription/registration). The level count is
 * part of it: joined levels alone make `#` and `/#` (no level, one empty level) the same key.
 */
export function patternKey(p: Pattern): string {
  const lv = p.levels.map((l) => (l === null ? '\u0001' : l)).join('\u0000');
  return `${p.match}${p.multi ? '#' : ''}|${p.levels.length}|${lv}`;
}

/**
 * Does a concrete topic match a pattern? (Used outside the trie: permissions, meta lookups.)
 * `dollarRule`: wildcards at the first level do not match '$' topics — a subscription rule that
 * permissions do not follow (a role allowed everything may publish to '$app/...').
 */
export function patternMatches(p: Pattern, topic: readonly string[], dollarRule = true): boolean {
  const dollar = dollarRule && topic.length > 0 && isReservedFirstLevel(topic[0] as string);
  if (p.match === 'prefix') {
    const n = p.levels.length;
    if (topic.length < n) return false;
    for (let i = 0; i < n - 1; i++) if (p.levels[i] !== topic[i]) return false;
    const last = p.levels[n - 1] as string;
    if (n === 1 && last === '' && dollar) return false;
    return (topic[n - 1] as string).startsWith(last);
  }
  const n = p.levels.length;
  if (p.multi ? topic.length < n : topic.length !== n) return false;
  for (let i = 0; i < n; i++) {
    const l = p.levels[i];
    if (l === null) {
      if (i === 0 && dollar) return false;
    } else if (l !== topic[i]) return false;
  }
  if (p.multi && n === 0 && dollar) return false;
  return true;
}
