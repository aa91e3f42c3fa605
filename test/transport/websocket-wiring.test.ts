// The `websocket` config section reaches every WebSocket the server serves (/ws, /mqtt, esub's
// /psub), and the config file refuses what it does not know.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { defaultConfig, readConfigFile } from '../../server/config.ts';
import { startTestServer } from '../helpers/server.ts';

/** The status line the server answers an upgrade request for `target` with. */
function upgradeStatus(port: number, target: string, protocol: string, origin: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const end = got.indexOf('\r\n');
      if (end >= 0) {
        resolve(got.slice(0, end));
        s.destroy();
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(got.split('\r\n')[0] ?? ''));
    s.write(
      `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Protocol: ${protocol}\r\nOrigin: ${origin}\r\n\r\n`,
    );
  });
}

test('allowedOrigins applies to /ws, /mqtt and esub psub alike', async (t) => {
  const server = await startTestServer(t, undefined, { websocket: { allowedOrigins: ['https://app.example'] } });
  const port = Number(new URL(server.urls.http as string).port);
  for (const [target, protocol] of [
    ['/ws', 'wamp.2.json'],
    ['/mqtt', 'mqtt'],
    ['/esub/psub/k1', 'x'],
  ] as const) {
    t.regex(await upgradeStatus(port, target, protocol, 'https://evil.example'), /^HTTP\/1\.1 403/, target);
    t.regex(await upgradeStatus(port, target, protocol, 'https://app.example'), /^HTTP\/1\.1 101/, target);
  }
});

test('the websocket config section: known keys are read, unknown ones and bad values refused', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kitsune-ws-config-'));
  const file = (o: unknown): string => {
    const p = path.join(dir, `${randomBytes(4).toString('hex')}.json`);
    writeFileSync(p, JSON.stringify(o));
    return p;
  };
  const ok = { closeTimeoutMs: 2000, maxFragments: 100, allowedOrigins: ['https://a.example'], compression: { threshold: 512 } };
  t.deepEqual(readConfigFile(file({ websocket: ok }), defaultConfig()).websocket, ok);
  t.throws(() => readConfigFile(file({ websocket: { maxFragment: 1 } }), defaultConfig()), { message: /websocket\.maxFragment: unknown key/ });
  // the upgrade request's deadline is the listener's (connections.headersTimeoutMs), not a second setting
  t.throws(() => readConfigFile(file({ websocket: { handshakeTimeoutMs: 3000 } }), defaultConfig()), { message: /websocket\.handshakeTimeoutMs: unknown key/ });
  t.throws(() => readConfigFile(file({ websocket: { closeTimeoutMs: -1 } }), defaultConfig()), { message: /websocket\.closeTimeoutMs: -1 is not an integer >= 1/ });
  t.throws(() => readConfigFile(file({ websocket: { compression: true } }), defaultConfig()), { message: /websocket\.compression: true is not false, or an object/ });
});
