// What a message handler may use of its connection; keeps handlers free of the connection class.
import type { Logger } from '../core/log.ts';
import type { Router } from '../core/router.ts';
import type { Session } from '../core/session.ts';
import type { AuthResult, Verify } from '../core/auth/types.ts';
import type { Dict } from '../core/types.ts';
import type { WampTransport } from './transport.ts';

export interface PendingAuth {
  realm: string;
  sessionId: number;
  verify: Verify;
  helloDetails: Dict;
}

/** 'authenticating': the answer to a CHALLENGE is being checked. */
export type ConnState = 'hello' | 'challenge' | 'authenticating' | 'open' | 'closing' | 'closed';

export interface Conn {
  state: ConnState;
  session: Session | undefined;
  pendingAuth: PendingAuth | undefined;
  readonly ctx: { router: Router; logger: Logger };
  readonly transport: WampTransport;
  /** Attaches the session to the realm and sends WELCOME. */
  welcome(realm: string, auth: AuthResult, sessionId?: number, helloDetails?: Record<string, unknown>): void;
  send(msg: unknown[]): void;
  sendError(requestType: number, requestId: number, err: unknown): void;
  abort(reason: string, message: string): void;
  goodbye(): void;
}

export type Handler = (c: Conn, msg: unknown[]) => void;
