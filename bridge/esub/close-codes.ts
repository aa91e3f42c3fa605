// WebSocket close frames the bridge sends. Standard codes where one fits, 4000-4999 (application
// codes) for what only esub has. Every socket the server ends gets one of these.
export const CloseCode = {
  /** Registration refused: the pool's token differs (the pre-refactor esub closed with 1010 `invalid token`). */
  invalidToken: { code: 1008, reason: 'invalid token' },
  /** Registration refused: shared=1 against an exclusive psub, or the reverse. */
  sharedMismatch: { code: 1008, reason: 'shared mismatch' },
  /** Registration refused: a WAMP callee holds the key with another invoke policy. */
  keyInUse: { code: 1008, reason: 'key in use' },
  /** Registration refused: the role of the socket's identity may not register the key (checked before the upgrade too). */
  notAuthorized: { code: 1008, reason: 'not authorized' },
  /** Registration refused: a limit (sessions, registrations) is reached. */
  overloaded: { code: 1013, reason: 'try again later' },
  /** An exclusive psub displaced by a newer one for the same key. */
  takenOver: { code: 4000, reason: 'taken over' },
  /** Nothing (no pong, no message) heard for longer than the ping frequency. */
  keepaliveTimeout: { code: 4001, reason: 'keepalive timeout' },
  /** Receipt mode: no read receipt within the receipt timeout. */
  receiptTimeout: { code: 4002, reason: 'receipt timeout' },
  /** /prep: a message that is not the JSON object {key, token, psub, data}. */
  invalidMessage: { code: 1007, reason: 'invalid message' },
  /** The server is shutting down. */
  shutdown: { code: 1001, reason: 'server shutting down' },
} as const;

export type CloseFrame = { code: number; reason: string };
