// TLS for the listeners. Each TLS listener has a TlsEndpoint: a tls.Server that never listens itself.
// Our own TCP servers accept and admit every connection (admission.ts), then hand it to the endpoint,
// so the connection limits apply before the handshake and a handshake that never finishes is closed
// at the handshake deadline. Certificates are PEM files, read at start (a bad one stops the start:
// see tlsProblems) and again on SIGHUP (a bad one keeps the certificates in use and says why).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type net from 'node:net';
import tls from 'node:tls';
import { setTlsIdentity } from '../lib/transport/tls-identity.ts';

/** One listener's TLS: PEM file paths and what is asked of clients' certificates. */
export interface TlsListenerConfig {
  /** Server certificate (chain), PEM. */
  cert: string;
  /** Its private key, PEM (unencrypted). */
  key: string;
  /** CA certificates that sign acceptable client certificates, PEM. */
  ca?: string;
  /** Ask clients for a certificate (default false). */
  requestClientCert?: boolean;
  /** With requestClientCert: refuse the handshake of a client whose certificate the CA did not sign (default true). */
  rejectUnauthorized?: boolean;
  /** What of a verified client certificate names the client: its subject's CN (default) or the whole subject (RFC 4514). */
  clientIdentity?: 'cn' | 'subject';
}

/** The shared port's TLS: plain connections stay served beside it unless `required`. */
export interface SharedTlsConfig extends TlsListenerConfig {
  required?: boolean;
}

/** The `tls` section: each key secures the listener of the port key of the same name. */
export interface TlsConfig {
  port?: SharedTlsConfig;
  mqttsPort?: TlsListenerConfig;
  hustmqPort?: TlsListenerConfig;
  hustdbPort?: TlsListenerConfig;
  esubPort?: TlsListenerConfig;
}

export type TlsListenerName = keyof TlsConfig;

/** mqtts' registered port, used when `tls.mqttsPort` is configured and `mqttsPort` is not. */
export const DEFAULT_MQTTS_PORT = 8883;

interface Credentials {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read the ${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function checkCertificates(pem: Buffer, path: string, what: string): void {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`${what} file ${path} holds no PEM certificate`);
  try {
    new X509Certificate(pem);
  } catch (err) {
    throw new Error(`${what} file ${path} is not a valid PEM certificate: ${(err as Error).message}`);
  }
}

/** Reads and checks one listener's files: certificates parse, the key matches the certificate. Throws with a message naming the file. */
export function readCredentials(cfg: TlsListenerConfig): Credentials {
  const cert = readPem(cfg.cert, 'certificate');
  checkCertificates(cert, cfg.cert, 'certificate');
  const key = readPem(cfg.key, 'key');
  const ca = cfg.ca === undefined ? undefined : readPem(cfg.ca, 'CA');
  if (ca && cfg.ca) checkCertificates(ca, cfg.ca, 'CA');
  try {
    tls.createSecureContext({ cert, key, ca });
  } catch (err) {
    throw new Error(`key file ${cfg.key} does not fit certificate ${cfg.cert}: ${(err as Error).message}`);
  }
  return { cert, key, ca };
}

/** One problem per unusable TLS listener configuration, as `tls.<listener>: why`. */
export function tlsProblems(config: TlsConfig | undefined): string[] {
  const problems: string[] = [];
  for (const [name, cfg] of Object.entries(config ?? {}) as [TlsListenerName, TlsListenerConfig | undefined][]) {
    if (!cfg) continue;
    try {
      readCredentials(cfg);
    } catch (err) {
      problems.push(`tls.${name}: ${(err as Error).message}`);
    }
    if (cfg.requestClientCert && cfg.ca === undefined) problems.push(`tls.${name}.requestClientCert: needs tls.${name}.ca, the CA that signs client certificates`);
  }
  return problems;
}

/**
 * The identity a verified client certificate gives: its subject's CN, or the whole subject written as
 * RFC 4514 does (most significant RDN last: `CN=device-7,O=Acme`). Undefined without one.
 */
export function certificateIdentity(socket: tls.TLSSocket, field: 'cn' | 'subject'): string | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerX509Certificate();
  if (!cert) return undefined;
  const rdns = cert.subject.split('\n').filter((l) => l !== '');
  if (field === 'subject') return rdns.reverse().join(',') || undefined;
  // the last CN is the most specific one when there are several
  const cn = rdns.filter((l) => l.startsWith('CN=')).pop();
  return cn?.slice(3) || undefined;
}

export interface TlsEndpointOptions {
  /** The listener's name in logs and metrics. */
  name: string;
  /** A handshake not finished this long after the ClientHello's first byte arrived is closed. */
  handshakeTimeoutMs: number;
  /** A connection whose handshake finished (its identity, if any, is set on it: lib/transport/tls-identity.ts). */
  onSecure(socket: tls.TLSSocket): void;
  /** A handshake that failed: timed out, or refused (bad ClientHello, untrusted client certificate...). */
  onFailed?(reason: 'timeout' | 'refused', err: Error): void;
}

export class TlsEndpoint {
  private readonly server: tls.Server;
  private config: TlsListenerConfig;

  constructor(
    config: TlsListenerConfig,
    private readonly opts: TlsEndpointOptions,
  ) {
    this.config = config;
    const requestCert = config.requestClientCert === true;
    this.server = tls.createServer({
      ...readCredentials(config),
      requestCert,
      rejectUnauthorized: requestCert && config.rejectUnauthorized !== false,
      handshakeTimeout: opts.handshakeTimeoutMs,
    });
    this.server.on('secureConnection', (socket: tls.TLSSocket) => {
      if (requestCert) {
        const identity = certificateIdentity(socket, this.config.clientIdentity ?? 'cn');
        if (identity !== undefined) setTlsIdentity(socket, identity);
      }
      opts.onSecure(socket);
    });
    this.server.on('tlsClientError', (err: Error & { code?: string }, socket: tls.TLSSocket) => {
      socket.destroy();
      opts.onFailed?.(err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'timeout' : 'refused', err);
    });
  }

  get name(): string {
    return this.opts.name;
  }

  /** Starts the handshake on an accepted socket; bytes already read from it must have been unshifted. */
  take(socket: net.Socket): void {
    this.server.emit('connection', socket);
  }

  /**
   * New handshakes use the certificates now in the files (and the new paths, if the configuration
   * names others); open connections keep theirs. Throws, changing nothing, when a file is unusable.
   */
  reload(config: TlsListenerConfig): void {
    this.server.setSecureContext(readCredentials(config));
    this.config = config;
  }
}

/** The same configuration with every file path resolved against `dir` (the configuration file's). */
export function resolveTlsPaths(config: TlsConfig, dir: string): TlsConfig {
  const out: TlsConfig = {};
  for (const [name, cfg] of Object.entries(config) as [TlsListenerName, TlsListenerConfig | undefined][]) {
    if (!cfg) continue;
    out[name] = { ...cfg, cert: resolve(dir, cfg.cert), key: resolve(dir, cfg.key), ...(cfg.ca === undefined ? {} : { ca: resolve(dir, cfg.ca) }) };
  }
  return out;
}
