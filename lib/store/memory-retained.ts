// Memory engine: retained key-value records with engine-assigned versions and expiry.
import { SkipList } from '../core/skip-list.ts';
import type { RetainedRecord, RetainedWrite } from '../core/store.ts';
import { compareKeys, copyBytes, isLive } from './common.ts';

/** A realm's records by key, plus the keys in order so "any live key under this prefix" is a seek. */
class RealmRecords extends Map<string, RetainedRecord> {
  readonly ordered = new SkipList<undefined>();

  override set(key: string, rec: RetainedRecord): this {
    if (!this.has(key)) this.ordered.insert(0, key, undefined);
    return super.set(key, rec);
  }

  override delete(key: string): boolean {
    if (!super.delete(key)) return false;
    this.ordered.remove(0, key);
    return true;
  }
}

export class MemoryRetained {
  private readonly realms = new Map<string, RealmRecords>();
  /** Store-wide revision counter; see RetainedRecord.version. */
  private rev = 0;

  private realm(realm: string, create: boolean): RealmRecords | undefined {
    let m = this.realms.get(realm);
    if (!m && create) {
      m = new RealmRecords();
      this.realms.set(realm, m);
    }
    return m;
  }

  /** The live record (expired ones are removed on sight). */
  private live(realm: string, key: string, now: number): RetainedRecord | undefined {
    const m = this.realms.get(realm);
    const rec = m?.get(key);
    if (!rec) return undefined;
    if (isLive(rec.expiresAt, now)) return rec;
    m!.delete(key);
    return undefined;
  }

  /** True when a live record's key starts with `prefix`: O(log n), plus the expired ones it removes on the way. */
  hasLiveUnder(realm: string, prefix: string, now: number): boolean {
    const m = this.realms.get(realm);
    if (!m) return false;
    for (let n = m.ordered.seekAt(0, prefix); n && n.key.startsWith(prefix); n = m.ordered.seekAt(0, prefix)) {
      if (this.live(realm, n.key, now)) return true;
    }
    return false;
  }

  get(realm: string, key: string, now: number): RetainedRecord | null {
    const rec = this.live(realm, key, now);
    return rec ? copyRecord(rec) : null;
  }

  list(realm: string, prefix: string | undefined, now: number): RetainedRecord[] {
    const m = this.realms.get(realm);
    if (!m) return [];
    const out: RetainedRecord[] = [];
    for (const rec of m.values()) {
      if (prefix !== undefined && !rec.key.startsWith(prefix)) continue;
      if (isLive(rec.expiresAt, now)) out.push(copyRecord(rec));
    }
    return out.sort((a, b) => compareKeys(a.key, b.key));
  }

  put(realm: string, write: RetainedWrite, expectVersion: number | undefined, now: number): number | null {
    const cur = this.live(realm, write.key, now);
    if (expectVersion !== undefined && (cur ? cur.version : 0) !== expectVersion) return null;
    const version = ++this.rev;
    const revision = write.revision ?? (cur ? cur.revision + 1 : 1);
    const rec: RetainedRecord = { key: write.key, value: copyBytes(write.value), version, revision, updatedAt: now };
    if (write.expiresAt !== undefined && write.expiresAt !== null) rec.expiresAt = write.expiresAt;
    if (write.owner !== undefined && write.owner !== null) rec.owner = write.owner;
    if (write.will !== undefined) rec.will = write.will === null ? null : copyBytes(write.will);
    this.realm(realm, true)!.set(write.key, rec);
    return version;
  }

  delete(realm: string, key: string, expectVersion: number | undefined, now: number): boolean {
    const cur = this.live(realm, key, now);
    if (!cur) return false;
    if (expectVersion !== undefined && cur.version !== expectVersion) return false;
    this.realms.get(realm)!.delete(key);
    return true;
  }

  wills(realm: string, owner: string | undefined, now: number): RetainedRecord[] {
    const m = this.realms.get(realm);
    if (!m) return [];
    const out: RetainedRecord[] = [];
    for (const rec of m.values()) {
      if (rec.owner === undefined || rec.will === undefined) continue;
      if (owner !== undefined && rec.owner !== owner) continue;
      if (isLive(rec.expiresAt, now)) out.push(copyRecord(rec));
    }
    return out.sort((a, b) => compareKeys(a.key, b.key));
  }

  sweep(now: number): number {
    let n = 0;
    for (const m of this.realms.values()) {
      for (const [key, rec] of m) {
        if (!isLive(rec.expiresAt, now)) {
          m.delete(key);
          n++;
        }
      }
    }
    return n;
  }
}

/** Shallow copy: callers get their own object; the blobs are shared and must be treated as read-only. */
function copyRecord(rec: RetainedRecord): RetainedRecord {
  return { ...rec };
}
