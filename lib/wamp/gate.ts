// The WAMP gate: turns each accepted transport (WebSocket or RawSocket) into a WAMP connection.
import { type Logger, tracing } from '../core/log.ts';
import type { Router } from '../core/router.ts';
import { WampConnection } from './connection.ts';
import type { AcceptWampTransport } from './transport.ts';
import { setMaxNestingDepth } from './wire-values.ts';

/** Also sets the WAMP codecs' nesting limit to the router's (one per process: see Limits.maxNestingDepth). */
export function createWampGate(router: Router, logger: Logger): AcceptWampTransport {
  setMaxNestingDepth(router.limits.maxNestingDepth);
  const ctx = { router, logger, traffic: router.stats.traffic.wamp, trace: tracing(logger) };
  return (transport) => new WampConnection(ctx, transport);
}
