// The WAMP gate: turns each accepted transport (WebSocket or RawSocket) into a WAMP connection.
import type { Logger } from '../core/log.ts';
import type { Router } from '../core/router.ts';
import { WampConnection } from './connection.ts';
import type { AcceptWampTransport } from './transport.ts';

export function createWampGate(router: Router, logger: Logger): AcceptWampTransport {
  return (transport) => new WampConnection({ router, logger }, transport);
}
