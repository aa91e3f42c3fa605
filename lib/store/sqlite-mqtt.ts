// SQLite engine: MQTT persistent sessions (record, offline queue, in-flight state).
import type Database from 'better-sqlite3';
import { pack, unpack } from 'msgpackr';
import type { MqttInflight, MqttQueued, MqttSessionListing, MqttSessionState } from '../core/store.ts';
import { normalizeSession } from './common.ts';

const NO_LIMIT = -1;

function decodeSession(blob: Buffer): MqttSessionState {
  return normalizeSession(unpack(blob) as MqttSessionState);
}

export class SqliteMqtt {
  private readonly saveStmt: Database.Statement;
  private readonly loadStmt: Database.Statement;
  private readonly listStmt: Database.Statement;
  private readonly delSession: Database.Statement;
  private readonly delQueue: Database.Statement;
  private readonly delInflight: Database.Statement;
  private readonly enqueueStmt: Database.Statement;
  private readonly trimQueue: Database.Statement;
  private readonly peekQueue: Database.Statement;
  private readonly dropQueued: Database.Statement;
  private readonly putInflightStmt: Database.Statement;
  private readonly delInflightOne: Database.Statement;
  private readonly listInflightStmt: Database.Statement;

  constructor(db: Database.Database) {
    this.saveStmt = db.prepare(
      `INSERT INTO mqtt_sessions (realm, client_id, state) VALUES (?, ?, ?)
       ON CONFLICT (realm, client_id) DO UPDATE SET state = excluded.state`,
    );
    this.loadStmt = db.prepare('SELECT state FROM mqtt_sessions WHERE realm = ? AND client_id = ?').pluck();
    this.listStmt = db.prepare('SELECT client_id, state FROM mqtt_sessions WHERE realm = ? ORDER BY client_id');
    this.delSession = db.prepare('DELETE FROM mqtt_sessions WHERE realm = ? AND client_id = ?');
    this.delQueue = db.prepare('DELETE FROM mqtt_queue WHERE realm = ? AND client_id = ?');
    this.delInflight = db.prepare('DELETE FROM mqtt_inflight WHERE realm = ? AND client_id = ?');
    this.enqueueStmt = db.prepare('INSERT INTO mqtt_queue (realm, client_id, value) VALUES (?, ?, ?)');
    this.trimQueue = db.prepare(
      `DELETE FROM mqtt_queue WHERE realm = @realm AND client_id = @client AND id <= (
         SELECT id FROM mqtt_queue WHERE realm = @realm AND client_id = @client ORDER BY id DESC LIMIT 1 OFFSET @keep)`,
    );
    this.peekQueue = db.prepare('SELECT id, value FROM mqtt_queue WHERE realm = ? AND client_id = ? ORDER BY id LIMIT ?');
    this.dropQueued = db.prepare('DELETE FROM mqtt_queue WHERE realm = ? AND client_id = ? AND id <= ?');
    this.putInflightStmt = db.prepare(
      `INSERT INTO mqtt_inflight (realm, client_id, packet_id, value) VALUES (?, ?, ?, ?)
       ON CONFLICT (realm, client_id, packet_id) DO UPDATE SET value = excluded.value`,
    );
    this.delInflightOne = db.prepare('DELETE FROM mqtt_inflight WHERE realm = ? AND client_id = ? AND packet_id = ?');
    this.listInflightStmt = db.prepare(
      'SELECT packet_id AS packetId, value FROM mqtt_inflight WHERE realm = ? AND client_id = ? ORDER BY rowid',
    );
  }

  save(realm: string, clientId: string, state: MqttSessionState): void {
    this.saveStmt.run(realm, clientId, pack(normalizeSession(state)));
  }

  load(realm: string, clientId: string): MqttSessionState | null {
    const blob = this.loadStmt.get(realm, clientId) as Buffer | undefined;
    return blob ? decodeSession(blob) : null;
  }

  list(realm: string): MqttSessionListing[] {
    const rows = this.listStmt.all(realm) as { client_id: string; state: Buffer }[];
    return rows.map((r) => ({ clientId: r.client_id, ...decodeSession(r.state) }));
  }

  delete(realm: string, clientId: string): void {
    this.delSession.run(realm, clientId);
    this.delQueue.run(realm, clientId);
    this.delInflight.run(realm, clientId);
  }

  enqueue(realm: string, clientId: string, message: Uint8Array, maxQueued: number | undefined): number {
    const id = Number(this.enqueueStmt.run(realm, clientId, message).lastInsertRowid);
    if (maxQueued !== undefined) this.trimQueue.run({ realm, client: clientId, keep: maxQueued });
    return id;
  }

  drain(realm: string, clientId: string, limit: number | undefined): MqttQueued[] {
    const rows = this.peekQueue.all(realm, clientId, limit ?? NO_LIMIT) as MqttQueued[];
    if (rows.length > 0) this.dropQueued.run(realm, clientId, rows[rows.length - 1].id);
    return rows;
  }

  peek(realm: string, clientId: string, limit: number | undefined): MqttQueued[] {
    return this.peekQueue.all(realm, clientId, limit ?? NO_LIMIT) as MqttQueued[];
  }

  putInflight(realm: string, clientId: string, packetId: number, state: Uint8Array): void {
    this.putInflightStmt.run(realm, clientId, packetId, state);
  }

  deleteInflight(realm: string, clientId: string, packetId: number): boolean {
    return this.delInflightOne.run(realm, clientId, packetId).changes > 0;
  }

  listInflight(realm: string, clientId: string): MqttInflight[] {
    return this.listInflightStmt.all(realm, clientId) as MqttInflight[];
  }
}
