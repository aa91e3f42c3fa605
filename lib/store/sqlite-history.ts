// SQLite engine: event history. The id column is an AUTOINCREMENT key: SQLite records the largest
// id ever used (sqlite_sequence, also for ids we supply), so ids grow across restarts and are never
// reused, even after the newest entries were pruned. Tx.historyId mirrors it during a group commit.
import type Database from 'better-sqlite3';
import type { HistoryEntry, HistoryPrune, HistoryQuery } from '../core/store.ts';
import { nextHistoryId } from './common.ts';
import type { Tx } from './sqlite-batch.ts';

interface Row {
  id: number;
  topic: string;
  ts: number;
  value: Buffer;
  headers: Buffer | null;
}

const COLS = 'id, topic, ts, value, headers';
/** SQLite: a negative LIMIT means no limit. */
const NO_LIMIT = -1;

function toEntry(r: Row): HistoryEntry {
  const e: HistoryEntry = { id: r.id, topic: r.topic, value: r.value, timestamp: r.ts };
  if (r.headers !== null) e.headers = r.headers;
  return e;
}

export class SqliteHistory {
  private readonly insert: Database.Statement;
  private readonly topicAsc: Database.Statement;
  private readonly topicDesc: Database.Statement;
  private readonly anyAsc: Database.Statement;
  private readonly anyDesc: Database.Statement;
  private readonly pruneAge: Database.Statement;
  private readonly pruneAgeTopic: Database.Statement;
  private readonly pruneCount: Database.Statement;
  private readonly pruneCountTopic: Database.Statement;

  constructor(db: Database.Database) {
    this.insert = db.prepare('INSERT INTO history (id, realm, topic, ts, value, headers) VALUES (?, ?, ?, ?, ?, ?)');
    const oneTopic = `SELECT ${COLS} FROM history WHERE realm = @realm AND topic = @topic AND id > @after`;
    this.topicAsc = db.prepare(`${oneTopic} ORDER BY id ASC LIMIT @limit`);
    this.topicDesc = db.prepare(`${oneTopic} ORDER BY id DESC LIMIT @limit`);
    // @topics is a JSON array of strings (or NULL); @prefix is a plain string (or NULL).
    const filtered = `SELECT ${COLS} FROM history WHERE realm = @realm AND id > @after
      AND (@topics IS NULL OR topic IN (SELECT value FROM json_each(@topics)))
      AND (@prefix IS NULL OR substr(topic, 1, length(@prefix)) = @prefix)`;
    this.anyAsc = db.prepare(`${filtered} ORDER BY id ASC LIMIT @limit`);
    this.anyDesc = db.prepare(`${filtered} ORDER BY id DESC LIMIT @limit`);
    this.pruneAge = db.prepare('DELETE FROM history WHERE realm = ? AND ts < ?');
    this.pruneAgeTopic = db.prepare('DELETE FROM history WHERE realm = ? AND topic = ? AND ts < ?');
    this.pruneCount = db.prepare(
      `DELETE FROM history WHERE id IN (
         SELECT id FROM (
           SELECT id, row_number() OVER (PARTITION BY topic ORDER BY id DESC) AS rn FROM history WHERE realm = @realm
         ) WHERE rn > @keep)`,
    );
    this.pruneCountTopic = db.prepare(
      `DELETE FROM history WHERE realm = @realm AND topic = @topic AND id <= (
         SELECT id FROM history WHERE realm = @realm AND topic = @topic ORDER BY id DESC LIMIT 1 OFFSET @keep)`,
    );
  }

  append(tx: Tx, realm: string, topic: string, value: Uint8Array, headers: Uint8Array | undefined, proposedId: number | undefined, now: number): number {
    const id = nextHistoryId(tx.historyId, proposedId);
    this.insert.run(id, realm, topic, now, value, headers ?? null);
    tx.historyId = id;
    return id;
  }

  read(realm: string, q: HistoryQuery): HistoryEntry[] {
    const after = q.afterId ?? 0;
    const limit = q.limit ?? NO_LIMIT;
    if (limit === 0) return [];
    const desc = !!q.newest;
    let rows: Row[];
    if (q.topics !== undefined && q.prefix === undefined) {
      // One indexed range per topic, merged by id.
      rows = [];
      for (const topic of new Set(q.topics)) {
        rows.push(...((desc ? this.topicDesc : this.topicAsc).all({ realm, topic, after, limit }) as Row[]));
      }
      rows.sort((a, b) => (desc ? b.id - a.id : a.id - b.id));
      if (limit > 0 && rows.length > limit) rows.length = limit;
    } else {
      const params = {
        realm,
        after,
        limit,
        topics: q.topics === undefined ? null : JSON.stringify(q.topics),
        prefix: q.prefix ?? null,
      };
      rows = (desc ? this.anyDesc : this.anyAsc).all(params) as Row[];
    }
    if (desc) rows.reverse();
    return rows.map(toEntry);
  }

  prune(realm: string, p: HistoryPrune, now: number): number {
    let n = 0;
    if (p.maxAgeMs !== undefined) {
      const cutoff = now - p.maxAgeMs;
      n += (p.topic === undefined ? this.pruneAge.run(realm, cutoff) : this.pruneAgeTopic.run(realm, p.topic, cutoff)).changes;
    }
    if (p.maxCount !== undefined) {
      const keep = p.maxCount;
      n += (p.topic === undefined ? this.pruneCount.run({ realm, keep }) : this.pruneCountTopic.run({ realm, topic: p.topic, keep }))
        .changes;
    }
    return n;
  }
}
