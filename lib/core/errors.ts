// Errors core raises to gates; each carries a WAMP error URI that gates map to their own protocol.
import type { Dict } from './types.ts';

export const ErrorUri = {
  noSuchRealm: 'wamp.error.no_such_realm',
  noSuchRole: 'wamp.error.no_such_role',
  noSuchProcedure: 'wamp.error.no_such_procedure',
  noSuchSubscription: 'wamp.error.no_such_subscription',
  noSuchRegistration: 'wamp.error.no_such_registration',
  noSuchSession: 'wamp.error.no_such_session',
  procedureAlreadyExists: 'wamp.error.procedure_already_exists',
  invalidUri: 'wamp.error.invalid_uri',
  invalidArgument: 'wamp.error.invalid_argument',
  notAuthorized: 'wamp.error.not_authorized',
  authenticationFailed: 'wamp.error.authentication_failed',
  noAuthMethod: 'wamp.error.no_auth_method',
  canceled: 'wamp.error.canceled',
  timeout: 'wamp.error.timeout',
  unavailable: 'wamp.error.unavailable',
  noAvailableCallee: 'wamp.error.no_available_callee',
  optionNotAllowed: 'wamp.error.option_not_allowed',
  protocolViolation: 'wamp.error.protocol_violation',
  closeRealm: 'wamp.close.close_realm',
  goodbyeAndOut: 'wamp.close.goodbye_and_out',
  systemShutdown: 'wamp.close.system_shutdown',
  killed: 'wamp.close.killed',
  limitExceeded: 'kitsune.error.limit_exceeded',
  conditionFailed: 'kitsune.error.condition_failed',
  storeFailed: 'kitsune.error.store_failed',
  /** A name used as one kind of table (retained values, set, sorted set) written as another. */
  wrongType: 'kitsune.error.wrong_type',
} as const;

export class RouterError extends Error {
  constructor(
    readonly uri: string,
    message?: string,
    readonly args?: unknown[],
    readonly kwargs?: Dict,
  ) {
    super(message ?? uri);
    this.name = 'RouterError';
  }

  /** Args to send with a WAMP ERROR: the explicit args, else the message. */
  get errorArgs(): unknown[] {
    return this.args ?? (this.message && this.message !== this.uri ? [this.message] : []);
  }
}
