// Certificates for TLS tests, made fresh for each test file (selfsigned, EC P-256: a few ms each):
// a CA, server certificates it signs (two, so a reload can be seen), a client certificate it signs
// and one nobody trusts. Written as PEM files into a temporary directory removed at the end.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import selfsigned from 'selfsigned';

export interface Pem {
  cert: string;
  key: string;
}

export interface TestCerts {
  dir: string;
  ca: Pem;
  server: Pem;
  /** A second server certificate (another CN), for reload tests. */
  server2: Pem;
  /** A client certificate the CA signed, subject CN=device-7, O=Kitsune Tests. */
  client: Pem;
  /** A self-signed client certificate with the same CN: its holder must get nothing. */
  untrusted: Pem;
  /** Paths of the files: ca.pem, server.pem, server.key, server2.pem, server2.key. */
  path(name: string): string;
  remove(): void;
}

const EC = { keyType: 'ec', algorithm: 'sha256' } as const;

async function make(cn: string, opts: object): Promise<Pem> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: cn }, { name: 'organizationName', value: 'Kitsune Tests' }], { ...EC, ...opts });
  return { cert: pems.cert, key: pems.private };
}

export async function makeTestCerts(): Promise<TestCerts> {
  const ca = await make('kitsune test CA', {
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const signedBy = { ca: { key: ca.key, cert: ca.cert } };
  const serverExtensions = [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
  ];
  const clientExtensions = [{ name: 'basicConstraints', cA: false }, { name: 'keyUsage', digitalSignature: true }, { name: 'extKeyUsage', clientAuth: true }];
  const server = await make('kitsune server one', { ...signedBy, extensions: serverExtensions });
  const server2 = await make('kitsune server two', { ...signedBy, extensions: serverExtensions });
  const client = await make('device-7', { ...signedBy, extensions: clientExtensions });
  const untrusted = await make('device-7', { extensions: clientExtensions });
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-tls-'));
  const files: Record<string, string> = {
    'ca.pem': ca.cert,
    'server.pem': server.cert,
    'server.key': server.key,
    'server2.pem': server2.cert,
    'server2.key': server2.key,
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { dir, ca, server, server2, client, untrusted, path: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
