// MQTT's ways in: the dedicated TCP port (1883 by default), the dedicated TLS port (mqtts, 8883 when
// configured), the shared port (sniffed CONNECT, plain or inside TLS) and WebSocket (subprotocol
// 'mqtt', routed here by upgrade-routes.ts), all feeding one MQTT gate.
import net from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../lib/core/log.ts';
import { createWebSocketServer } from '../lib/transport/websocket-server.ts';
import { createWsWebSocketServer } from '../lib/transport/ws-server.ts';
import type { Router } from '../lib/core/router.ts';
import { createMqttGate, type MqttGate } from '../lib/mqtt/index.ts';
import type { Admission } from './admission.ts';
import type { MqttSettings, WebSocketConfig } from './config.ts';
import { MQTT_SUBPROTOCOLS } from './upgrade-routes.ts';
import type { TlsListenerConfig } from './tls.ts';
import { listenTlsPort, type TlsPort } from './tls-port.ts';
import { tlsIdentityOf } from '../lib/transport/tls-identity.ts';
import { bindListener } from './bind-listener.ts';

export interface MqttListeners {
  gate: MqttGate;
  /** For the shared listener's sniffed MQTT connections. */
  onSniffed(socket: net.Socket, firstBytes: Buffer): void;
  /** For WebSocket upgrades that offer an MQTT subprotocol. */
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Waits for the gate's stored sessions, then starts the dedicated TCP port; resolves to its port, or null when none is configured. */
  listen(host: string, port: number | null): Promise<number | null>;
  /** Starts the mqtts port (after listen(), which waits for the stored sessions). */
  listenTls(host: string, port: number, tls: TlsListenerConfig, handshakeTimeoutMs: number): Promise<TlsPort>;
  close(): Promise<void>;
}

/** MQTT over WebSocket must use the 'mqtt' subprotocol (MQTT 5 §6); the old 'mqttv3.1' is accepted too. */
function mqttSubprotocol(header: string | string[] | undefined): string | undefined {
  const offered = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((p) => p.trim());
  return MQTT_SUBPROTOCOLS.find((p) => offered.includes(p));
}

/** `websocket` holds the limits of MQTT's WebSockets and, in `engine`, the stack serving them. */
export function createMqttListeners(router: Router, defaultRealm: string, logger: Logger, settings: MqttSettings = {}, websocket: WebSocketConfig = {}, admission?: Admission): MqttListeners {
  const gate = createMqttGate(router, { ...settings, defaultRealm, logger });
  const { engine, ...limits } = websocket;
  const ws = (engine === 'ws' ? createWsWebSocketServer : createWebSocketServer)({
    // a WebSocket message holds at most one whole packet plus the start of the next
    limits: { maxMessageBytes: router.limits.maxMessageBytes + 8, maxBufferedBytes: router.limits.sendBufferHardBytes, ...limits },
    subprotocol: (req) => mqttSubprotocol(req.headers['sec-websocket-protocol']) ?? { status: '400 Bad Request', message: "MQTT over WebSocket needs the subprotocol 'mqtt'\n" },
    accept: (socket, req) => gate.handleWebSocket(socket, tlsIdentityOf(req.socket)),
    onError: (err) => logger.error({ err }, 'MQTT WebSocket handler error'),
  });
  const tcp = net.createServer((socket) => {
    // a refused connection gets a CONNACK refusal (see refusal.ts) and never reaches the gate
    if (admission && !admission.accept(socket, 'mqtt', 'mqtt')) return;
    gate.handleSocket(socket);
  });
  tcp.on('error', (err) => logger.error({ err }, 'MQTT listener error'));
  let listening = false;
  let tlsPort: TlsPort | undefined;
  return {
    gate,
    onSniffed: (socket, first) => {
      gate.handleSocket(socket, first);
      socket.resume(); // the listener paused it while sniffing
    },
    onUpgrade: (req, socket, head) => ws.handleUpgrade(req, socket, head),
    async listen(host, port) {
      // Stored sessions must be back before MQTT is served; failing to read them stops the start.
      await gate.ready;
      if (port === null) return null;
      await bindListener(tcp, port, host);
      listening = true;
      return (tcp.address() as net.AddressInfo).port;
    },
    async listenTls(host, port, tls, handshakeTimeoutMs) {
      await gate.ready;
      tlsPort = await listenTlsPort({
        name: 'mqtts',
        host,
        port,
        tls,
        admission,
        handshakeTimeoutMs,
        onSecure: (socket) => gate.handleSocket(socket),
        onError: (err) => logger.error({ err }, 'MQTT TLS listener error'),
        onTlsFailure: (reason, err) => logger.debug({ event: 'tls.failed', listener: 'mqtts', reason, err: err.message }, 'TLS handshake failed'),
      });
      return tlsPort;
    },
    async close() {
      await gate.close();
      await tlsPort?.close();
      ws.close();
      if (listening) await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
