// CONNECT: protocol level, v5 properties, will, client id, realm and authentication, session
// takeover / resumption / clean start, CONNACK, then retransmission of unacknowledged messages.
// With a store, a persistent session (clean session off / v5 session expiry > 0) is journaled.
import { randomUUID } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { IConnectPacket } from 'mqtt-packet';
import { Payload } from '../core/payload.ts';
import { mqttLevels } from '../core/topic.ts';
import { authenticate } from './authenticate.ts';
import { attachErrorCode, connackV3, MqttError, RC, V3, type ProtocolVersion } from './codes.ts';
import type { Connection } from './connection.ts';
import { MQTT_MAX_PACKET } from './frame.ts';
import { attachSession } from './peer.ts';
import { headersFrom, ownBytes, responseTopicProblem } from './props.ts';
import { MqttSession, type Will } from './session-state.ts';

/** Sends a refusing CONNACK (v3 code undefined: close without one) and ends the connection. */
function refuse(conn: Connection, v5: number, v3: number | undefined, message: string, badInput = true): void {
  if (badInput) conn.gate.stats.badInput++;
  const event = v5 === RC.badUserNameOrPassword || v5 === RC.notAuthorized ? 'auth.refused' : 'connect.refused';
  conn.gate.logger.warn({ event, protocol: 'mqtt', ...conn.log, reasonCode: conn.version === 5 ? v5 : v3, reason: message }, `MQTT CONNECT refused: ${message}`);
  if (conn.version === 5) conn.send({ cmd: 'connack', sessionPresent: false, reasonCode: v5, properties: conn.reason(message) });
  else if (v3 !== undefined) conn.send({ cmd: 'connack', sessionPresent: false, returnCode: v3 });
  conn.end();
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

export function handleConnect(conn: Connection, packet: IConnectPacket): void {
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

  const auth = authenticate(gate.router, gate.options.defaultRealm, clientId, packet.username, packet.password);
  if (!('realm' in auth)) return refuse(conn, auth.v5, auth.v3, auth.message);
  const { realm } = auth;
  if (will) {
    const role = realm.roles.get(auth.authrole);
    if (!role || !role.allows('publish', will.topic) || will.topic[0] === 'wamp') {
      return refuse(conn, RC.notAuthorized, V3.notAuthorized, `not authorized to publish the will on '${will.topic.join('/')}'`);
    }
  }

  // A realm created after the gate started (autoCreateRealms): its stored sessions come first.
  const persistence = gate.persistence;
  if (persistence && !persistence.restored(realm.name)) {
    conn.hold();
    persistence.restoreRealm(realm.name).then(
      conn.guard(() => {
        if (conn.state !== 'connecting') return;
        handleConnect(conn, packet);
        conn.release();
      }),
      conn.guard(() => refuse(conn, RC.serverUnavailable, V3.serverUnavailable, 'stored sessions could not be read')),
    );
    return;
  }

  const requested = v5 ? (props.sessionExpiryInterval ?? 0) : cleanStart ? 0 : gate.options.v3SessionExpiry;
  const expiry = Math.min(requested, gate.options.maxSessionExpiry);
  conn.connectExpiry = requested;

  // Another connection with this client id is closed; its will follows the spec (see detach).
  // Only the same identity may take a client id over: anyone else would end someone else's
  // session and erase its stored subscriptions and queue.
  const existing = gate.registry.get(realm.name, clientId);
  if (existing && !existing.ended && (existing.core.authid !== auth.authid || existing.core.authrole !== auth.authrole)) {
    return refuse(conn, RC.notAuthorized, V3.notAuthorized, `client id '${clientId}' belongs to another identity`);
  }
  // A session that outlives its connection counts against the realm's bound (checked before the
  // takeover, so a refused CONNECT leaves the current holder of the client id alone).
  const replacesPersistent = existing !== undefined && !existing.ended && existing.expiryInterval > 0;
  const maxPersistent = realm.limits.maxPersistentSessionsPerRealm;
  if (expiry > 0 && !replacesPersistent && gate.persistentCount(realm.name) >= maxPersistent) {
    gate.stats.refusedPersistentSessions++;
    gate.router.stats.limitRefusals++;
    return refuse(conn, RC.quotaExceeded, V3.serverUnavailable, `realm '${realm.name}' has its limit of ${maxPersistent} persistent sessions`, false);
  }
  if (existing) existing.takeover(RC.sessionTakenOver);
  let session: MqttSession;
  let present = false;
  if (existing && !existing.ended && !cleanStart && existing.core.authid === auth.authid && existing.core.authrole === auth.authrole) {
    session = existing;
    present = true;
    Object.assign(session.core.identity.transport, { kind: conn.transport.kind, peer: conn.transport.remote, protocolVersion: version });
  } else {
    existing?.end();
    session = new MqttSession(realm.name, clientId, gate.sessionEnv);
    try {
      attachSession(
        gate.router,
        session,
        { authid: auth.authid, authrole: auth.authrole, authmethod: auth.authmethod, authprovider: 'static' },
        { kind: conn.transport.kind, peer: conn.transport.remote, clientId, protocolVersion: version },
      );
    } catch (err) {
      const code = attachErrorCode(err);
      return refuse(conn, code, connackV3(code), err instanceof Error ? err.message : String(err));
    }
    gate.registry.add(session);
  }
  session.expiryInterval = expiry;
  gate.trackPersistence(session);
  session.protocolVersion = version;
  conn.session = session;

  let keepalive = packet.keepalive ?? 0;
  const serverKeepAlive = v5 ? gate.options.serverKeepAlive : undefined;
  if (serverKeepAlive !== undefined) keepalive = serverKeepAlive;
  if (v5) {
    const o = gate.options;
    conn.send({
      cmd: 'connack',
      sessionPresent: present,
      reasonCode: RC.success,
      properties: {
        receiveMaximum: o.receiveMaximum,
        topicAliasMaximum: o.topicAliasMaximum,
        maximumPacketSize: o.maxPacketSize,
        ...(assigned !== undefined ? { assignedClientIdentifier: assigned } : {}),
        ...(serverKeepAlive !== undefined ? { serverKeepAlive } : {}),
        ...(expiry !== requested ? { sessionExpiryInterval: expiry } : {}),
      },
    });
  } else {
    conn.send({ cmd: 'connack', sessionPresent: present, returnCode: V3.accepted });
  }
  conn.opened(keepalive);
  session.attach(conn, present);
  session.will = will;
  if (persistence) {
    if (expiry > 0) {
      session.journal ??= persistence.journal(session, !present);
      void session.journal.saveRecord();
    } else if (session.journal) {
      // Resumed with session expiry 0: it now ends with this connection and is no longer stored.
      session.journal.erase();
      session.journal = undefined;
    }
  }
}
