// MQTT reason codes (v5) and return codes (v3.1/3.1.1), and how core errors map onto them.
import { ErrorUri, RouterError } from '../core/errors.ts';

export type ProtocolVersion = 3 | 4 | 5;

/** MQTT 5 reason codes used by the gate. */
export const RC = {
  success: 0x00,
  grantedQos1: 0x01,
  grantedQos2: 0x02,
  disconnectWithWill: 0x04,
  noMatchingSubscribers: 0x10,
  noSubscriptionExisted: 0x11,
  unspecified: 0x80,
  malformed: 0x81,
  protocolError: 0x82,
  implementationSpecific: 0x83,
  unsupportedProtocolVersion: 0x84,
  clientIdNotValid: 0x85,
  badUserNameOrPassword: 0x86,
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  serverBusy: 0x89,
  badAuthenticationMethod: 0x8c,
  keepAliveTimeout: 0x8d,
  sessionTakenOver: 0x8e,
  topicFilterInvalid: 0x8f,
  topicNameInvalid: 0x90,
  packetIdInUse: 0x91,
  packetIdNotFound: 0x92,
  receiveMaximumExceeded: 0x93,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  quotaExceeded: 0x97,
  administrativeAction: 0x98,
  payloadFormatInvalid: 0x99,
  sharedSubscriptionsNotSupported: 0x9e,
  serverShuttingDown: 0x8b,
} as const;

/** MQTT 3.1 / 3.1.1 CONNACK return codes. */
export const V3 = {
  accepted: 0x00,
  unacceptableProtocol: 0x01,
  identifierRejected: 0x02,
  serverUnavailable: 0x03,
  badUserNameOrPassword: 0x04,
  notAuthorized: 0x05,
  subscribeFailure: 0x80,
} as const;

/** v5 CONNACK reason code → the closest v3.1.1 return code. */
export function connackV3(code: number): number {
  switch (code) {
    case RC.success:
      return V3.accepted;
    case RC.unsupportedProtocolVersion:
      return V3.unacceptableProtocol;
    case RC.clientIdNotValid:
      return V3.identifierRejected;
    case RC.badUserNameOrPassword:
      return V3.badUserNameOrPassword;
    case RC.notAuthorized:
    case RC.badAuthenticationMethod:
      return V3.notAuthorized;
    default:
      return V3.serverUnavailable;
  }
}

/** A protocol failure a handler raises: the connection ends (v5 DISCONNECT with `code` first). */
export class MqttError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'MqttError';
  }
}

/** Reason code for a core error raised while publishing (PUBACK / PUBREC). */
export function publishErrorCode(err: unknown): number {
  if (!(err instanceof RouterError)) return RC.unspecified;
  switch (err.uri) {
    case ErrorUri.notAuthorized:
      return RC.notAuthorized;
    case ErrorUri.invalidUri:
      return RC.topicNameInvalid;
    case ErrorUri.limitExceeded:
      return RC.quotaExceeded;
    default:
      return RC.unspecified;
  }
}

/** The store (not the client) made the operation fail: nothing must be acknowledged as done. */
export function isStoreFailure(err: unknown): boolean {
  return !(err instanceof RouterError) || err.uri === ErrorUri.storeFailed;
}

/** A configured limit refused the operation (counted by whoever raised it). */
export function isLimitRefusal(err: unknown): boolean {
  return err instanceof RouterError && err.uri === ErrorUri.limitExceeded;
}

/** The realm refused the operation for the session's role. */
export function isNotAuthorized(err: unknown): boolean {
  return err instanceof RouterError && err.uri === ErrorUri.notAuthorized;
}

/** Reason code for a core error raised while subscribing (SUBACK entry). */
export function subscribeErrorCode(err: unknown): number {
  if (!(err instanceof RouterError)) return RC.unspecified;
  switch (err.uri) {
    case ErrorUri.notAuthorized:
      return RC.notAuthorized;
    case ErrorUri.invalidUri:
      return RC.topicFilterInvalid;
    case ErrorUri.limitExceeded:
      return RC.quotaExceeded;
    default:
      return RC.unspecified;
  }
}

/** Reason code for a core error raised while attaching a session (CONNACK). */
export function attachErrorCode(err: unknown): number {
  if (!(err instanceof RouterError)) return RC.unspecified;
  switch (err.uri) {
    case ErrorUri.noSuchRealm:
      return RC.badUserNameOrPassword;
    case ErrorUri.noSuchRole:
    case ErrorUri.notAuthorized:
      return RC.notAuthorized;
    case ErrorUri.limitExceeded:
      return RC.quotaExceeded;
    case ErrorUri.systemShutdown:
      return RC.serverUnavailable;
    default:
      return RC.unspecified;
  }
}
