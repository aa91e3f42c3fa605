// SQLite engine: opening the database file, pragmas and schema.
//
// Durability reasoning (kill -9 of the process must lose nothing acknowledged):
// - journal_mode=WAL + synchronous=NORMAL. A commit appends the transaction's frames, including
//   the commit frame, to the -wal file with write(2) before COMMIT returns; NORMAL only skips the
//   fsync at commit (WAL is still fsynced at each checkpoint). After write(2) returns the bytes
//   are in the kernel's page cache, which belongs to the OS, not to the process: when the process
//   is killed (SIGKILL, OOM, crash) the kernel still writes them back, and the next open replays
//   the WAL. So every transaction whose COMMIT returned survives the death of the process, and
//   we resolve a write's promise only after COMMIT returned. test/store-durability.test.ts checks
//   this with SIGKILL.
// - What NORMAL does not cover is power loss or a kernel crash: the last transactions since the
//   previous checkpoint may be lost (the database stays consistent). `synchronous: 'full'` fsyncs
//   the WAL on every commit (one fsync per group commit, not per write) for that case.
// - locking_mode=EXCLUSIVE, set before the first access: the process holds the file lock for its
//   lifetime, so a second kitsune process on the same data directory fails at open instead of
//   interleaving writes, and the WAL index lives in heap memory (no -shm file). The kernel drops
//   the lock when the process dies, so a restart after kill -9 opens normally.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { listingBucket } from '../core/store.ts';
import { join } from 'node:path';

export const DB_FILE = 'kitsune.db';
const SCHEMA_VERSION = 2;
/** Values of up to this many bytes are kept in the queue_items row itself. */
export const QUEUE_INLINE_MAX = 256;

export interface SqliteOpenOptions {
  dataDir: string;
  /** 'normal' (default): survives process crashes. 'full': also survives power loss. */
  synchronous?: 'normal' | 'full';
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  k TEXT PRIMARY KEY,
  v INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (k, v) VALUES ('rev', 0);

CREATE TABLE IF NOT EXISTS retained (
  realm TEXT NOT NULL,
  key TEXT NOT NULL,
  value BLOB NOT NULL,
  version INTEGER NOT NULL,
  revision INTEGER NOT NULL DEFAULT 1,
  updated_at INTEGER NOT NULL,
  expires_at INTEGER,
  owner TEXT,
  will BLOB,
  has_will INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (realm, key)
);
CREATE INDEX IF NOT EXISTS retained_wills ON retained (realm, owner) WHERE has_will = 1 AND owner IS NOT NULL;
CREATE INDEX IF NOT EXISTS retained_expiry ON retained (expires_at) WHERE expires_at IS NOT NULL;

-- hustdb sets and sorted sets: one row per table (its kind and size), one per member, indexed by
-- member (lookups), by score (ordered ranges) and, for set members, by listing bucket (bucket ranges)
CREATE TABLE IF NOT EXISTS coll_tables (
  realm TEXT NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (realm, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS coll_members (
  realm TEXT NOT NULL,
  tb TEXT NOT NULL,
  member BLOB NOT NULL,
  score NUMERIC NOT NULL,
  version INTEGER NOT NULL,
  expires_at INTEGER,
  bucket INTEGER,
  PRIMARY KEY (realm, tb, member)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS coll_by_score ON coll_members (realm, tb, score, member);
CREATE INDEX IF NOT EXISTS coll_by_bucket ON coll_members (realm, tb, bucket, member) WHERE bucket IS NOT NULL;
CREATE INDEX IF NOT EXISTS coll_expiry ON coll_members (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  realm TEXT NOT NULL,
  topic TEXT NOT NULL,
  ts INTEGER NOT NULL,
  value BLOB NOT NULL,
  headers BLOB
);
CREATE INDEX IF NOT EXISTS history_realm ON history (realm, id);
CREATE INDEX IF NOT EXISTS history_topic ON history (realm, topic, id);

-- hustmq durable queues (see sqlite-queues.ts). qid keys a queue's items; item ids are assigned by
-- the engine, grow forever across queues and restarts (meta 'queue_id' is a bound above every id
-- handed out) and order the items of a queue and priority.
CREATE TABLE IF NOT EXISTS queues (
  qid INTEGER PRIMARY KEY,
  realm TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  timeout_ms INTEGER NOT NULL,
  locked INTEGER NOT NULL DEFAULT 0,
  max INTEGER NOT NULL DEFAULT 0,
  ready0 INTEGER NOT NULL DEFAULT 0,
  ready1 INTEGER NOT NULL DEFAULT 0,
  ready2 INTEGER NOT NULL DEFAULT 0,
  unacked INTEGER NOT NULL DEFAULT 0,
  si INTEGER NOT NULL DEFAULT 0,
  ci INTEGER NOT NULL DEFAULT 0,
  UNIQUE (realm, name)
);
INSERT OR IGNORE INTO meta (k, v) VALUES ('queue_id', 0);
-- ready items, clustered in delivery order; a value over QUEUE_INLINE_MAX (256) bytes is NULL here, kept in
-- queue_values (large rows in a WITHOUT ROWID b-tree cost more than the second lookup)
CREATE TABLE IF NOT EXISTS queue_items (
  qid INTEGER NOT NULL,
  priority INTEGER NOT NULL,
  id INTEGER NOT NULL,
  value BLOB,
  PRIMARY KEY (qid, priority, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queue_values (
  id INTEGER PRIMARY KEY,
  value BLOB NOT NULL
);
-- items served with ack=false, until acknowledged or served again after the queue's timeout
CREATE TABLE IF NOT EXISTS queue_unacked (
  id INTEGER PRIMARY KEY,
  qid INTEGER NOT NULL,
  priority INTEGER NOT NULL,
  value BLOB NOT NULL,
  delivered_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_unacked_due ON queue_unacked (qid, delivered_at, id);
CREATE TABLE IF NOT EXISTS queue_workers (
  realm TEXT NOT NULL,
  queue TEXT NOT NULL,
  name TEXT NOT NULL,
  seen_at INTEGER NOT NULL,
  PRIMARY KEY (realm, queue, name)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS mqtt_sessions (
  realm TEXT NOT NULL,
  client_id TEXT NOT NULL,
  state BLOB NOT NULL,
  PRIMARY KEY (realm, client_id)
);
CREATE TABLE IF NOT EXISTS mqtt_queue (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  realm TEXT NOT NULL,
  client_id TEXT NOT NULL,
  value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS mqtt_queue_client ON mqtt_queue (realm, client_id, id);
-- rowid order = order of first put (an upsert keeps the rowid)
CREATE TABLE IF NOT EXISTS mqtt_inflight (
  realm TEXT NOT NULL,
  client_id TEXT NOT NULL,
  packet_id INTEGER NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY (realm, client_id, packet_id)
);

CREATE TABLE IF NOT EXISTS replies (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  realm TEXT NOT NULL,
  key TEXT NOT NULL,
  value BLOB NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS replies_key ON replies (realm, key, id);
CREATE INDEX IF NOT EXISTS replies_expiry ON replies (expires_at);
`;

// Schema 1 kept every item in one rowid table keyed by an AUTOINCREMENT id, with realm and queue
// names in each row and partial indexes for ready and unacked items. Version 2 moves the tables
// aside, creates the new ones and copies the queues and items over, keeping item ids (ack tokens
// stay valid) and continuing above the largest id ever used.
const QUEUES_V1_ASIDE = `
ALTER TABLE queues RENAME TO queues_v1;
ALTER TABLE queue_items RENAME TO queue_items_v1;
DROP INDEX IF EXISTS queue_ready;
DROP INDEX IF EXISTS queue_unacked;
`;
const QUEUES_V1_TO_V2 = `
INSERT INTO queues (realm, name, created_at, timeout_ms, locked, max, ready0, ready1, ready2, unacked, si, ci)
  SELECT realm, name, created_at, timeout_ms, locked, max, ready0, ready1, ready2, unacked, si, ci FROM queues_v1 ORDER BY realm, name;
INSERT INTO queue_items (qid, priority, id, value)
  SELECT q.qid, i.priority, i.id, CASE WHEN length(CAST(i.value AS BLOB)) <= ${QUEUE_INLINE_MAX} THEN i.value END
  FROM queue_items_v1 i JOIN queues q ON q.realm = i.realm AND q.name = i.queue WHERE i.delivered_at IS NULL
  ORDER BY q.qid, i.priority, i.id;
INSERT INTO queue_values (id, value)
  SELECT i.id, i.value FROM queue_items_v1 i JOIN queues q ON q.realm = i.realm AND q.name = i.queue
  WHERE i.delivered_at IS NULL AND length(CAST(i.value AS BLOB)) > ${QUEUE_INLINE_MAX};
INSERT INTO queue_unacked (id, qid, priority, value, delivered_at)
  SELECT i.id, q.qid, i.priority, i.value, i.delivered_at
  FROM queue_items_v1 i JOIN queues q ON q.realm = i.realm AND q.name = i.queue WHERE i.delivered_at IS NOT NULL;
-- the counters as the items are (the engine trusts them to pick a priority and to drop a queue)
UPDATE queues SET
  ready0 = (SELECT count(*) FROM queue_items i WHERE i.qid = queues.qid AND i.priority = 0),
  ready1 = (SELECT count(*) FROM queue_items i WHERE i.qid = queues.qid AND i.priority = 1),
  ready2 = (SELECT count(*) FROM queue_items i WHERE i.qid = queues.qid AND i.priority = 2),
  unacked = (SELECT count(*) FROM queue_unacked u WHERE u.qid = queues.qid);
UPDATE meta SET v = max(v,
  coalesce((SELECT max(seq) FROM sqlite_sequence WHERE name IN ('queue_items', 'queue_items_v1')), 0),
  coalesce((SELECT max(id) FROM queue_items_v1), 0)) WHERE k = 'queue_id';
DROP TABLE queue_items_v1;
DROP TABLE queues_v1;
`;

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

/** Databases written before per-key revisions existed get the column (every live key starts at 1). */
function addRetainedRevision(db: Database.Database): void {
  const cols = db.prepare('PRAGMA table_info(retained)').all() as { name: string }[];
  if (cols.length > 0 && !cols.some((c) => c.name === 'revision')) db.exec('ALTER TABLE retained ADD COLUMN revision INTEGER NOT NULL DEFAULT 1');
}

/** Databases written before bucket ranges were indexed get the column, filled in for set members. */
function addMemberBucket(db: Database.Database): void {
  const cols = db.prepare('PRAGMA table_info(coll_members)').all() as { name: string }[];
  if (cols.length === 0 || cols.some((c) => c.name === 'bucket')) return;
  db.exec('ALTER TABLE coll_members ADD COLUMN bucket INTEGER');
  const set = db.prepare('UPDATE coll_members SET bucket = ? WHERE realm = ? AND tb = ? AND member = ?');
  const rows = db.prepare("SELECT m.realm, m.tb, m.member FROM coll_members m JOIN coll_tables t ON t.realm = m.realm AND t.name = m.tb WHERE t.kind = 'set'");
  for (const r of rows.all() as { realm: string; tb: string; member: Buffer }[]) set.run(listingBucket(r.member), r.realm, r.tb, r.member);
}

/** Opens (creating if needed) the database in `dataDir`. Errors name the path and the cause. */
export function openDatabase(options: SqliteOpenOptions): Database.Database {
  const dir = options.dataDir;
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new Error(`cannot create data directory ${dir}: ${describe(err)}`, { cause: err });
  }
  const file = join(dir, DB_FILE);
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: 2000 });
    db.pragma('locking_mode = EXCLUSIVE');
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (String(mode).toLowerCase() !== 'wal') throw new Error(`cannot switch to WAL journal mode (got ${String(mode)})`);
    db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('journal_size_limit = 67108864');
    const version = Number(db.pragma('user_version', { simple: true }));
    if (version > SCHEMA_VERSION) throw new Error(`schema version ${version} is newer than this kitsune (${SCHEMA_VERSION})`);
    db.transaction(() => {
      if (version === 1) db!.exec(QUEUES_V1_ASIDE);
      addRetainedRevision(db!);
      addMemberBucket(db!);
      db!.exec(SCHEMA);
      if (version === 1) db!.exec(QUEUES_V1_TO_V2);
      db!.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
    return db;
  } catch (err) {
    try {
      db?.close();
    } catch {
      // already failing
    }
    throw new Error(`cannot open store at ${file}: ${describe(err)}`, { cause: err });
  }
}
