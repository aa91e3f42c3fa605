// CONNECT, in the steps the spec gives it (§3.1.4): validate the request (protocol level, v5
// properties, keep alive, will, client id), authenticate, take over a connection holding the
// client id, resume or create the session, acknowledge (CONNACK, then retransmission of
// unacknowledged messages). With a store, a persistent session (clean session off / v5 session
// expiry > 0) is journaled.
import { randomUUID } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { IConnectPacket } from 'mqtt-packet';
import { Payload } from '../core/payload.ts';
import { mqttLevels } from '../core/topic.ts';
import { type Authenticated, authenticate, type Refused } from './authenticate.ts';
import { attachErrorCode, connackV3, MqttError, RC, V3, type ProtocolVersion } from './codes.ts';
import type { Connection } from './connection.ts';
import { logError, type ResolvedOptions } from './context.ts';
import { MQTT_MAX_PACKET } from './frame.ts';
import { attachSession } from './peer.ts';
import { headersFrom, ownBytes, responseTopicProblem } from './props.ts';
import { MqttSession, type Will } from './session-state.ts';

/** What a valid CONNECT asks for. */
interface ConnectRequest {
  packet: IConnectPacket;
  version: ProtocolVersion;
  cleanStart: boolean;
  clientId: string;
  /** The client id the server assigned (v5, empty client id), announced in CONNACK. */
  assigned: string | undefined;
  will: Will | undefined;
  keepAlive: KeepAlive;
  /** Session Expiry Interval asked for (3.1.1: the configured one for a persistent session)... */
  requestedExpiry: number;
  /** ...and granted (bounded by maxSessionExpiry). */
  expiry: number;
}

interface KeepAlive {
  seconds: number;
  /** v5 Server Keep Alive to announce in CONNACK. */
  announce: number | undefined;
}

/** Sends a refusing CONNACK (v3 code undefined: close without one) and ends the connection. */
function refuse(conn: Connection, v5: number, v3: number | undefined, message: string, badInput = true): undefined {
  if (badInput) conn.gate.stats.badInput++;
  const event = v5 === RC.badUserNameOrPassword || v5 === RC.notAuthorized ? 'auth.refused' : 'connect.refused';
  conn.gate.logger.warn({ event, protocol: 'mqtt', ...conn.log, reasonCode: conn.version === 5 ? v5 : v3, reason: message }, `MQTT CONNECT refused: ${message}`);
  if (conn.version === 5) conn.send({ cmd: 'connack', sessionPresent: false, reasonCode: v5, properties: conn.reason(message) });
  else if (v3 !== undefined) conn.send({ cmd: 'connack', sessionPresent: false, returnCode: v3 });
  conn.end();
  return undefined;
}

export function handleConnect(conn: Connection, packet: IConnectPacket): void {
  const req = validate(conn, packet);
  if (!req) return;
  const gate = conn.gate;
  const identity = gate.options.useIdentityAsUsername ? conn.transport.tlsIdentity : undefined;
  const auth = authenticate(gate.router, gate.options.defaultRealm, req.clientId, req.packet.username, req.packet.password, identity);
  if (!(auth instanceof Promise)) {
    admit(conn, req, auth);
    return;
  }
  // A password being checked (on the thread pool): the packets that follow wait for the verdict.
  conn.hold();
  auth.then(
    conn.guard((verdict: Authenticated | Refused) => {
      if (conn.state !== 'connecting') return;
      if (!admit(conn, req, verdict)) conn.release();
    }),
    conn.guard((err: unknown) => {
      logError(gate.logger, { err, ...conn.log }, 'checking an MQTT password failed');
      refuse(conn, RC.unspecified, V3.serverUnavailable, 'the password could not be checked', false);
    }),
  );
}

/**
 * The steps after authentication: the will's right, stored sessions, take over, resume, CONNACK.
 * True while stored sessions are being restored (the connection stays held until that is done).
 */
function admit(conn: Connection, req: ConnectRequest, verdict: Authenticated | Refused): boolean {
  const auth = authorizeConnect(conn, req, verdict);
  if (!auth) return false;
  if (waitForStoredSessions(conn, req, auth)) return true;
  const existing = takeOver(conn, req, auth);
  if (existing === false) return false;
  const resumed = resumeOrCreate(conn, req, auth, existing);
  if (resumed) acknowledge(conn, req, resumed.session, resumed.present);
  return false;
}

// --- validate ------------------------------------------------------------------------------------

function validate(conn: Connection, packet: IConnectPacket): ConnectRequest | undefined {
  const gate = conn.gate;
  const version = (packet.protocolVersion ?? 4) as ProtocolVersion;
  conn.version = version;
  const v5 = version === 5;
  const props = (v5 && packet.properties) || {};
  if (gate.closing) return refuse(conn, RC.serverUnavailable, V3.serverUnavailable, 'server shutting down');
  if (v5) {
    if (props.authenticationMethod !== undefined) return refuse(conn, RC.badAuthenticationMethod, undefined, `authentication method '${props.authenticationMethod}' is not supported`);
    if (props.receiveMaximum === 0) return refuse(conn, RC.protocolError, undefined, 'Receive Maximum 0');
    if (props.maximumPacketSize === 0) return refuse(conn, RC.protocolError, undefined, 'Maximum Packet Size 0');
    conn.receiveMaximum = props.receiveMaximum ?? 65535;
    conn.maxPacketOut = props.maximumPacketSize ?? MQTT_MAX_PACKET;
    conn.topicAliasMaxOut = Math.min(props.topicAliasMaximum ?? 0, 65535);
    conn.problemInfo = props.requestProblemInformation !== false;
  }
  const keepAlive = negotiateKeepAlive(packet.keepalive ?? 0, v5, gate.options);
  // (only 3.1/3.1.1 requests are refused: v5 ones are answered with a Server Keep Alive)
  if (!keepAlive) return refuse(conn, RC.unspecified, V3.identifierRejected, `keep alive ${packet.keepalive ?? 0} s: the server allows 1 to ${gate.options.maxKeepAlive} s`);

  let will: Will | undefined;
  if (packet.will) {
    const w = buildWill(conn, packet.will);
    if (Array.isArray(w)) return refuse(conn, w[0], undefined, w[1]);
    will = w;
  }

  const cleanStart = packet.clean !== false;
  let clientId = packet.clientId ?? '';
  let assigned: string | undefined;
  if (clientId === '') {
    if (v5 || (version === 4 && cleanStart)) {
      clientId = `kitsune-${randomUUID()}`;
      if (v5) assigned = clientId;
    } else return refuse(conn, RC.clientIdNotValid, V3.identifierRejected, 'empty client identifier with a persistent session');
  }
  conn.clientId = clientId;
  // U+0000 is not allowed in MQTT strings (MQTT-1.5.4-2); the session store relies on it.
  if (clientId.includes('\u0000')) return refuse(conn, RC.clientIdNotValid, V3.identifierRejected, 'client identifier contains U+0000');
  // MQTT 3.1 allows 1 to 23 characters; longer ones get return code 0x02 (identifier rejected).
  if (version === 3 && clientId.length > 23 && [...clientId].length > 23) return refuse(conn, RC.clientIdNotValid, V3.identifierRejected, 'MQTT 3.1 client identifier longer than 23 characters');

  const requestedExpiry = v5 ? (props.sessionExpiryInterval ?? 0) : cleanStart ? 0 : gate.options.v3SessionExpiry;
  const expiry = Math.min(requestedExpiry, gate.options.maxSessionExpiry);
  return { packet, version, cleanStart, clientId, assigned, will, keepAlive, requestedExpiry, expiry };
}

/**
 * The keep alive the connection runs with. v5: `serverKeepAlive` replaces every request; else a
 * request over `maxKeepAlive`, or 0 (none), gets `maxKeepAlive` as Server Keep Alive. 3.1/3.1.1
 * cannot be told another value, so such a request is refused (undefined), as mosquitto does.
 */
function negotiateKeepAlive(requested: number, v5: boolean, o: ResolvedOptions): KeepAlive | undefined {
  if (v5 && o.serverKeepAlive !== undefined) return { seconds: o.serverKeepAlive, announce: o.serverKeepAlive };
  const max = o.maxKeepAlive;
  if (max === 0 || (requested > 0 && requested <= max)) return { seconds: requested, announce: undefined };
  return v5 ? { seconds: max, announce: max } : undefined;
}

/** The will, or why the CONNECT is refused: [v5 reason code, message]. */
function buildWill(conn: Connection, w: NonNullable<IConnectPacket['will']>): Will | [code: number, message: string] {
  if ((w.qos ?? 0) > 2) throw new MqttError(RC.malformed, 'will QoS 3');
  let topic: string[];
  try {
    topic = mqttLevels(w.topic, conn.gate.router.limits);
  } catch {
    return [RC.topicNameInvalid, `invalid will topic '${w.topic.slice(0, 200)}'`];
  }
  const payload = ownBytes(Buffer.isBuffer(w.payload) ? w.payload : Buffer.from(w.payload));
  const props = conn.version === 5 ? w.properties : undefined;
  if (props?.payloadFormatIndicator && !isUtf8(payload)) return [RC.payloadFormatInvalid, 'will payload is not UTF-8'];
  const badResponseTopic = responseTopicProblem(props);
  if (badResponseTopic) return [RC.protocolError, `will: ${badResponseTopic}`];
  return {
    topic,
    payload: Payload.fromBytes(payload),
    options: { qos: w.qos ?? 0, retain: w.retain === true, excludeMe: false, headers: headersFrom(props, Date.now()) },
    delayMs: (props?.willDelayInterval ?? 0) * 1000,
  };
}

// --- authenticate --------------------------------------------------------------------------------

/** Realm and identity, with the right to publish the will; undefined when refused. */
function authorizeConnect(conn: Connection, req: ConnectRequest, auth: Authenticated | Refused): Authenticated | undefined {
  const stats = conn.gate.router.stats;
  if (!('realm' in auth)) {
    if (auth.busy) stats.limitRefusals++;
    else stats.authRefusals++;
    return refuse(conn, auth.v5, auth.v3, auth.message, !auth.busy);
  }
  const will = req.will;
  if (will) {
    const role = auth.realm.roles.get(auth.authrole);
    if (!role || !role.allows('publish', will.topic) || will.topic[0] === 'wamp') {
      return refuse(conn, RC.notAuthorized, V3.notAuthorized, `not authorized to publish the will on '${will.topic.join('/')}'`);
    }
  }
  return auth;
}

/**
 * A realm created after the gate started (autoCreateRealms): its stored sessions are restored
 * first, and the CONNECT is admitted after that. True while that is under way.
 */
function waitForStoredSessions(conn: Connection, req: ConnectRequest, auth: Authenticated): boolean {
  const persistence = conn.gate.persistence;
  if (!persistence || persistence.restored(auth.realm.name)) return false;
  conn.hold();
  persistence.restoreRealm(auth.realm.name).then(
    conn.guard(() => {
      if (conn.state !== 'connecting') return;
      if (!admit(conn, req, auth)) conn.release();
    }),
    conn.guard(() => refuse(conn, RC.serverUnavailable, V3.serverUnavailable, 'stored sessions could not be read')),
  );
  return true;
}

// --- take over -----------------------------------------------------------------------------------

/**
 * The live session holding this client id, its connection closed (v5: DISCONNECT 0x8E first),
 * or undefined when there is none; false when this CONNECT is refused instead. Only the same
 * identity may take a client id over: anyone else would end someone else's session and erase
 * its stored subscriptions and queue. What happens to the old connection's will is the
 * session's concern (MqttSession.takeover).
 */
function takeOver(conn: Connection, req: ConnectRequest, auth: Authenticated): MqttSession | undefined | false {
  const gate = conn.gate;
  const realm = auth.realm;
  const existing = gate.registry.get(realm.name, req.clientId);
  const live = existing !== undefined && !existing.ended;
  if (live && (existing.core.authid !== auth.authid || existing.core.authrole !== auth.authrole)) {
    refuse(conn, RC.notAuthorized, V3.notAuthorized, `client id '${req.clientId}' belongs to another identity`);
    return false;
  }
  // A session that outlives its connection counts against the realm's bound (checked before the
  // takeover, so a refused CONNECT leaves the current holder of the client id alone).
  const replacesPersistent = live && existing.expiryInterval > 0;
  const maxPersistent = realm.limits.maxPersistentSessionsPerRealm;
  if (req.expiry > 0 && !replacesPersistent && gate.persistentCount(realm.name) >= maxPersistent) {
    gate.stats.refusedPersistentSessions++;
    gate.router.stats.limitRefusals++;
    refuse(conn, RC.quotaExceeded, V3.serverUnavailable, `realm '${realm.name}' has its limit of ${maxPersistent} persistent sessions`, false);
    return false;
  }
  existing?.takeover(RC.sessionTakenOver);
  return existing;
}

// --- resume or create ----------------------------------------------------------------------------

/** Clean Start 0 resumes a live session; anything else ends it and starts a new one. */
function resumeOrCreate(conn: Connection, req: ConnectRequest, auth: Authenticated, existing: MqttSession | undefined): { session: MqttSession; present: boolean } | undefined {
  const gate = conn.gate;
  let session: MqttSession;
  let present = false;
  if (existing && !existing.ended && !req.cleanStart) {
    session = existing;
    present = true;
    Object.assign(session.core.identity.transport, { kind: conn.transport.kind, peer: conn.transport.remote, protocolVersion: req.version });
  } else {
    existing?.end();
    session = new MqttSession(auth.realm.name, req.clientId, gate.sessionEnv);
    try {
      attachSession(
        gate.router,
        session,
        { authid: auth.authid, authrole: auth.authrole, authmethod: auth.authmethod, authprovider: 'static' },
        { kind: conn.transport.kind, peer: conn.transport.remote, clientId: req.clientId, protocolVersion: req.version },
      );
    } catch (err) {
      const code = attachErrorCode(err);
      return refuse(conn, code, connackV3(code), err instanceof Error ? err.message : String(err));
    }
    gate.registry.add(session);
  }
  session.expiryInterval = req.expiry;
  gate.trackPersistence(session);
  session.protocolVersion = req.version;
  conn.session = session;
  return { session, present };
}

// --- acknowledge ---------------------------------------------------------------------------------

/** CONNACK, keep alive, the session attached (retransmissions follow), its journal kept current. */
function acknowledge(conn: Connection, req: ConnectRequest, session: MqttSession, present: boolean): void {
  const o = conn.gate.options;
  if (req.version === 5) {
    const { assigned, expiry, requestedExpiry } = req;
    const announce = req.keepAlive.announce;
    conn.send({
      cmd: 'connack',
      sessionPresent: present,
      reasonCode: RC.success,
      properties: {
        receiveMaximum: o.receiveMaximum,
        topicAliasMaximum: o.topicAliasMaximum,
        maximumPacketSize: o.maxPacketSize,
        ...(assigned !== undefined ? { assignedClientIdentifier: assigned } : {}),
        ...(announce !== undefined ? { serverKeepAlive: announce } : {}),
        ...(expiry !== requestedExpiry ? { sessionExpiryInterval: expiry } : {}),
      },
    });
  } else {
    conn.send({ cmd: 'connack', sessionPresent: present, returnCode: V3.accepted });
  }
  conn.opened(req.keepAlive.seconds);
  conn.connectExpiry = req.requestedExpiry;
  session.attach(conn, present);
  session.will = req.will;
  const persistence = conn.gate.persistence;
  if (!persistence) return;
  if (req.expiry > 0) {
    session.journal ??= persistence.journal(session, !present);
    void session.journal.saveRecord();
  } else if (session.journal) {
    // Resumed with session expiry 0: it now ends with this connection and is no longer stored.
    session.journal.erase();
    session.journal = undefined;
  }
}
