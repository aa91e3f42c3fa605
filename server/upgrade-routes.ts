// Which gate takes a WebSocket upgrade on the shared port. The subprotocol says the protocol
// (wamp.2.* → WAMP, mqtt / mqttv3.1 → MQTT) on any path, except:
//   - a path under an HTTP mount (a bridge, /healthz, /metrics) belongs to that mount: its own
//     WebSocket handler (esub's /psub and /prep) or a 404;
//   - a path configured for one protocol (`websocket.paths`, by default /ws → WAMP, /mqtt → MQTT)
//     serves that protocol only: the other protocol's subprotocol there gets a 400 naming the path's
//     protocol, and an upgrade offering none of its subprotocols goes to its gate, which refuses it
//     in its own words.
// An upgrade offering no subprotocol we speak gets a 400 naming the ones we do.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Refusal } from '../lib/transport/websocket-handshake.ts';
import { serializers } from '../lib/wamp/serializers.ts';

export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
export type WebSocketProtocol = 'wamp' | 'mqtt';
/** Why the router refused an upgrade itself (a metric label). */
export type UpgradeRefusalReason = 'no_subprotocol' | 'wrong_path' | 'no_endpoint';

export const WAMP_SUBPROTOCOLS: readonly string[] = serializers.map((s) => s.subprotocol);
/** 'mqtt' (MQTT 5 §6 and 3.1.1 §6); 'mqttv3.1' is what MQTT 3.1 clients offer. */
export const MQTT_SUBPROTOCOLS: readonly string[] = ['mqtt', 'mqttv3.1'];
export const DEFAULT_WEBSOCKET_PATHS: Readonly<Record<string, WebSocketProtocol>> = { '/ws': 'wamp', '/mqtt': 'mqtt' };

const NAMES: Record<WebSocketProtocol, string> = { wamp: 'WAMP', mqtt: 'MQTT' };
const SUBPROTOCOLS: Record<WebSocketProtocol, readonly string[]> = { wamp: WAMP_SUBPROTOCOLS, mqtt: MQTT_SUBPROTOCOLS };

export interface UpgradeRoutes {
  wamp?: UpgradeHandler;
  mqtt?: UpgradeHandler;
  /** Paths (exact, without the query) that serve one protocol only. */
  paths?: Readonly<Record<string, WebSocketProtocol>>;
  /** The WebSocket handler of the HTTP mount owning `path`; null if that mount has none; undefined if no mount owns it. */
  mounted?(path: string): UpgradeHandler | null | undefined;
  /** Told of every upgrade refused here (for metrics). */
  onRefused?(reason: UpgradeRefusalReason): void;
}

export type UpgradeRoute = { handler: UpgradeHandler } | { refusal: Refusal; reason: UpgradeRefusalReason };

/** The protocol of the first subprotocol in the client's list (its order of preference) that we speak. */
export function protocolOffered(header: string | string[] | undefined): WebSocketProtocol | undefined {
  if (header === undefined) return undefined;
  for (const raw of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const p = raw.trim();
    if (WAMP_SUBPROTOCOLS.includes(p)) return 'wamp';
    if (MQTT_SUBPROTOCOLS.includes(p)) return 'mqtt';
  }
  return undefined;
}

function listOf(p: WebSocketProtocol): string {
  return `${NAMES[p]} (${SUBPROTOCOLS[p].join(', ')})`;
}

/** What a refusal echoes of the client's input: enough to recognise it, never all of it. */
function shown(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function notServed(path: string): UpgradeRoute {
  return { refusal: { status: '404 Not Found', message: `no WebSocket endpoint at ${shown(path)}\n` }, reason: 'no_endpoint' };
}

export function routeUpgrade(routes: UpgradeRoutes, path: string, offered: string | string[] | undefined): UpgradeRoute {
  const mounted = routes.mounted?.(path);
  if (mounted !== undefined) return mounted ? { handler: mounted } : notServed(path);
  const dedicated = Object.hasOwn(routes.paths ?? {}, path) ? routes.paths?.[path] : undefined;
  const protocol = protocolOffered(offered);
  if (dedicated !== undefined) {
    if (protocol !== undefined && !offersAny(offered, dedicated)) {
      const other = dedicated === 'wamp' ? 'mqtt' : 'wamp';
      return {
        refusal: { status: '400 Bad Request', message: `${shown(path)} serves ${listOf(dedicated)} only; ${NAMES[other]} is served on any path not configured for ${NAMES[dedicated]}\n` },
        reason: 'wrong_path',
      };
    }
    const handler = routes[dedicated];
    return handler ? { handler } : notServed(path);
  }
  const handler = protocol && routes[protocol];
  if (handler) return { handler };
  if (protocol) return notServed(path);
  const got = offered === undefined ? 'none' : shown(String(offered));
  return {
    refusal: {
      status: '400 Bad Request',
      message: `no supported WebSocket subprotocol offered (got: ${got}); this server speaks ${listOf('wamp')} and ${listOf('mqtt')}\n`,
    },
    reason: 'no_subprotocol',
  };
}

/** Whether the client offers any subprotocol of `p` (it may prefer another protocol's). */
function offersAny(header: string | string[] | undefined, p: WebSocketProtocol): boolean {
  if (header === undefined) return false;
  return (Array.isArray(header) ? header.join(',') : header).split(',').some((s) => SUBPROTOCOLS[p].includes(s.trim()));
}
