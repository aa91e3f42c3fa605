// The identity a verified TLS client certificate gave a connection. The server's TLS endpoint sets it
// on the socket once the handshake is done; the gates read it from the socket they are given (for a
// WebSocket, the socket under the HTTP request) and offer it to authentication: WAMP's `tls` method,
// MQTT's useIdentityAsUsername. A WeakMap rather than a property: nothing a client sends can set it.
const identities = new WeakMap<object, string>();

export function setTlsIdentity(socket: object, identity: string): void {
  identities.set(socket, identity);
}

/** The identity of a socket (undefined: no TLS, no client certificate, or one that was not verified). */
export function tlsIdentityOf(socket: object | undefined | null): string | undefined {
  return socket ? identities.get(socket) : undefined;
}
