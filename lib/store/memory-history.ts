// Memory engine: per-realm event history, one array per realm ordered by id.
import type { HistoryEntry, HistoryPrune, HistoryQuery } from '../core/store.ts';
import { copyBytes, nextHistoryId } from './common.ts';

export class MemoryHistory {
  private readonly realms = new Map<string, HistoryEntry[]>();
  private lastId = 0;

  append(realm: string, topic: string, value: Uint8Array, headers: Uint8Array | undefined, proposedId: number | undefined, now: number): number {
    const id = nextHistoryId(this.lastId, proposedId);
    this.lastId = id;
    const entry: HistoryEntry = { id, topic, value: copyBytes(value), timestamp: now };
    if (headers !== undefined && headers !== null) entry.headers = copyBytes(headers);
    let list = this.realms.get(realm);
    if (!list) {
      list = [];
      this.realms.set(realm, list);
    }
    list.push(entry);
    return id;
  }

  read(realm: string, q: HistoryQuery): HistoryEntry[] {
    const list = this.realms.get(realm);
    if (!list) return [];
    const limit = q.limit ?? Infinity;
    if (limit <= 0) return [];
    const topics = q.topics ? new Set(q.topics) : undefined;
    const prefix = q.prefix;
    const match = (e: HistoryEntry): boolean =>
      (!topics || topics.has(e.topic)) && (prefix === undefined || e.topic.startsWith(prefix));
    const start = firstAfter(list, q.afterId ?? 0);
    const out: HistoryEntry[] = [];
    if (q.newest) {
      for (let i = list.length - 1; i >= start && out.length < limit; i--) if (match(list[i])) out.push({ ...list[i] });
      return out.reverse();
    }
    for (let i = start; i < list.length && out.length < limit; i++) if (match(list[i])) out.push({ ...list[i] });
    return out;
  }

  prune(realm: string, p: HistoryPrune, now: number): number {
    const list = this.realms.get(realm);
    if (!list) return 0;
    const drop = new Set<HistoryEntry>();
    if (p.maxAgeMs !== undefined) {
      const cutoff = now - p.maxAgeMs;
      for (const e of list) if (e.timestamp < cutoff && (p.topic === undefined || e.topic === p.topic)) drop.add(e);
    }
    if (p.maxCount !== undefined) {
      const kept = new Map<string, number>();
      for (let i = list.length - 1; i >= 0; i--) {
        const e = list[i];
        if (p.topic !== undefined && e.topic !== p.topic) continue;
        const n = kept.get(e.topic) ?? 0;
        if (n >= p.maxCount) drop.add(e);
        else kept.set(e.topic, n + 1);
      }
    }
    if (drop.size === 0) return 0;
    const rest = list.filter((e) => !drop.has(e));
    if (rest.length === 0) this.realms.delete(realm);
    else this.realms.set(realm, rest);
    return drop.size;
  }
}

/** Index of the first entry with id > afterId (binary search; ids ascend). */
function firstAfter(list: HistoryEntry[], afterId: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].id <= afterId) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
