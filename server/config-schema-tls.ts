// The `tls` part of the configuration file: one entry per TLS listener, named after the port key
// it secures (`port`, `mqttsPort`, `hustmqPort`, `hustdbPort`, `esubPort`). Files are PEM, paths
// relative to the configuration file's directory.
import { type Static, Type } from '@sinclair/typebox';
import { type Assignable, type Covers, OneOf, Section } from './config-schema-types.ts';
import type { SharedTlsConfig, TlsConfig, TlsListenerConfig } from './tls.ts';

const listenerProperties = {
  cert: Type.String({ minLength: 1, description: 'Server certificate (chain), PEM file.' }),
  key: Type.String({ minLength: 1, description: 'Its private key, PEM file (unencrypted).' }),
  ca: Type.Optional(Type.String({ minLength: 1, description: 'CA certificates that sign acceptable client certificates, PEM file (needed by requestClientCert).' })),
  requestClientCert: Type.Optional(Type.Boolean({ description: 'Ask clients for a certificate; a verified one gives the connection an identity (WAMP authmethod `tls`, MQTT useIdentityAsUsername).', default: false })),
  rejectUnauthorized: Type.Optional(Type.Boolean({ description: 'With requestClientCert: refuse the handshake of a client without a certificate the CA signed (false: let it in without an identity).', default: true })),
  clientIdentity: Type.Optional(OneOf(['cn', 'subject'] as const, { description: "What names a client: its certificate subject's CN, or the whole subject (RFC 4514, e.g. `CN=device-7,O=Acme`).", default: 'cn' })),
};

export const TlsListenerSchema = Section(listenerProperties);

export const SharedTlsSchema = Section({
  ...listenerProperties,
  required: Type.Optional(Type.Boolean({ description: 'Refuse plain (non-TLS) connections on the shared port; by default both are served, told apart by the first byte.', default: false })),
});

export const TlsSchema = Section(
  {
    port: Type.Optional(SharedTlsSchema),
    mqttsPort: Type.Optional(TlsListenerSchema),
    hustmqPort: Type.Optional(TlsListenerSchema),
    hustdbPort: Type.Optional(TlsListenerSchema),
    esubPort: Type.Optional(TlsListenerSchema),
  },
  { description: 'TLS per listener (certificates are re-read on SIGHUP). `port`: the shared port (a ClientHello is sniffed, then the same sniffing inside); `mqttsPort`: MQTT over TLS; the bridge ports: https.' },
);

export type TlsFromSchema = Assignable<Static<typeof TlsSchema>, TlsConfig>;
export type TlsListenerFromSchema = Assignable<Static<typeof TlsListenerSchema>, TlsListenerConfig>;
export type SharedTlsFromSchema = Assignable<Static<typeof SharedTlsSchema>, SharedTlsConfig>;
export type TlsKeysCovered = Covers<keyof Static<typeof TlsSchema>, keyof TlsConfig>;
export type SharedTlsKeysCovered = Covers<keyof Static<typeof SharedTlsSchema>, keyof SharedTlsConfig>;
