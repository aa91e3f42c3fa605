// esub options: the original's environment variables as overrides, checked, and honoured by the
// real CLI (ESUB_PORT opens the dedicated port).
import test from 'ava';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { esubOptionsFromEnv, esubPortFromEnv, resolveEsubOptions } from '../../../bridge/esub/index.ts';

test('environment variables map onto options', (t) => {
  t.deepEqual(
    esubOptionsFromEnv({
      ESUB_NODE_IP: '10.0.0.1',
      ESUB_CONFIRM_RECEIPT: '1',
      ESUB_PING_FREQUENCY: '30',
      ESUB_CLOSE_CONNECTIONS: 'yes',
      ESUB_METRIC_PREFIX: 'mine',
      ESUB_STORE: 'all',
      ESUB_STORE_TTL: '60',
      ESUB_CLUSTER_TOKEN: 'ct',
    }),
    { nodeIp: '10.0.0.1', confirmReceipt: true, pingFrequencyMs: 30_000, closeConnections: true, metricPrefix: 'mine', storeMode: 'all', storeTtlMs: 60_000, clusterToken: 'ct' },
  );
  t.deepEqual(esubOptionsFromEnv({}), {});
  // the original's rules: receipt mode is "set and not 0"; close-connections is "non-empty"
  t.deepEqual(esubOptionsFromEnv({ ESUB_CONFIRM_RECEIPT: '0', ESUB_CLOSE_CONNECTIONS: '' }), { confirmReceipt: false, closeConnections: false });
  t.is(esubPortFromEnv({ ESUB_PORT: '8090' }), 8090);
  t.is(esubPortFromEnv({}), undefined);
});

test('malformed values are refused, naming the variable', (t) => {
  t.throws(() => esubOptionsFromEnv({ ESUB_PING_FREQUENCY: '1.5' }), { message: /ESUB_PING_FREQUENCY must be a whole number of seconds/ });
  t.throws(() => esubOptionsFromEnv({ ESUB_STORE: 'some' }), { message: /ESUB_STORE/ });
  t.throws(() => esubPortFromEnv({ ESUB_PORT: 'http' }), { message: /ESUB_PORT/ });
  t.throws(() => resolveEsubOptions({ repTimeoutMs: 0 }), { message: /repTimeoutMs/ });
  t.throws(() => resolveEsubOptions({ metricPrefix: 'bad-name' }), { message: /metric prefix/ });
});

function runCli(env: Record<string, string>): Promise<{ urls?: Record<string, string>; exit?: number | null; stderr: string; kill(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', '--port', '0', '--mqtt-port', '0', '--memory'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const kill = (): void => void child.kill('SIGKILL');
  return new Promise((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const msg = JSON.parse(line) as Record<string, string>;
        if (msg.event === 'listening') resolve({ urls: msg, stderr, kill });
      } catch {
        // not JSON
      }
    });
    child.once('close', (code) => resolve({ exit: code, stderr, kill }));
  });
}

test('the CLI honours ESUB_PORT, ESUB_NODE_IP and ESUB_CLOSE_CONNECTIONS', async (t) => {
  const r = await runCli({ ESUB_PORT: '0', ESUB_NODE_IP: '10.9.9.9', ESUB_CLOSE_CONNECTIONS: '1' });
  t.teardown(r.kill);
  t.truthy(r.urls?.esubPort, r.stderr);
  const res = await fetch(`${r.urls?.esubPort}/info`);
  t.is(res.headers.get('connection'), 'close');
  t.is(((await res.json()) as { ip: string }).ip, '10.9.9.9');
  t.is(await (await fetch(`${r.urls?.esub}/ping`)).text(), 'OK');
});

test('the CLI refuses to start on a malformed ESUB_PING_FREQUENCY', async (t) => {
  const r = await runCli({ ESUB_PING_FREQUENCY: 'soon' });
  t.teardown(r.kill);
  t.is(r.exit, 2); // a configuration error, like a bad flag
  t.regex(r.stderr, /ESUB_PING_FREQUENCY must be a whole number of seconds/);
});
