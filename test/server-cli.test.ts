// The server as a process: `node --import tsx server/main.ts` with its flags, the "listening"
// line, clean shutdown on SIGTERM / SIGINT (GOODBYE wamp.close.system_shutdown, exit 0), --realm and
// --config.
import test, { type ExecutionContext } from 'ava';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { callError, openAutobahn } from './helpers/autobahn.ts';
import { connectRaw } from './helpers/mqtt-harness.ts';
import { RawWamp, T } from './helpers/raw-wamp.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Spawned {
  child: ChildProcess;
  urls: Record<string, string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

function run(t: ExecutionContext, args: string[]): { child: ChildProcess; exit: Spawned['exit']; stdout: () => string; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, exit, stdout: () => out, stderr: () => err };
}

/** Starts the server and waits for its {"event":"listening"} line on stdout. */
async function start(t: ExecutionContext, extra: string[] = []): Promise<Spawned> {
  t.timeout(180_000); // five servers start at once here; on a loaded machine each may take a minute
  const p = run(t, ['--port', '0', '--mqtt-port', '0', '--memory', ...extra]);
  const urls = await new Promise<Record<string, string>>((resolve, reject) => {
    // generous: under load, tsx compiling the server and its start can take well over 20 s
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${p.stderr()}`)), 150_000);
    const onData = (): void => {
      for (const line of p.stdout().split('\n')) {
        if (!line.trim()) continue;
        let obj: Record<string, unknown>;
        try {
          obj = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (obj.event === 'listening') {
          clearTimeout(timer);
          p.child.stdout!.off('data', onData);
          resolve(obj as Record<string, string>);
        }
      }
    };
    p.child.stdout!.on('data', onData);
    void p.exit.then(({ code }) => reject(new Error(`server exited with ${code} before listening; stderr: ${p.stderr()}`)));
  });
  return { child: p.child, urls, exit: p.exit, stderr: p.stderr };
}

test('the server prints its listeners, serves WAMP, and on SIGTERM says GOODBYE (system_shutdown) and exits 0', async (t) => {
  const server = await start(t);
  t.regex(server.urls.wamp ?? '', /^ws:\/\/127\.0\.0\.1:\d+\/ws$/);
  t.regex(server.urls.rawsocket ?? '', /^tcp:\/\/127\.0\.0\.1:\d+$/);
  t.not(new URL(server.urls.wamp!).port, '0');

  const healthz = async (): Promise<{ status: string; sessions: number }> => (await (await fetch(`${server.urls.http}/healthz`)).json()) as { status: string; sessions: number };
  const before = await healthz(); // the bridges' own sessions are not counted
  t.is(before.status, 'ok');
  const { session, closed } = await openAutobahn(t, server.urls);
  const rs = await openAutobahn(t, server.urls, { rawsocket: true });
  await session.register('com.cli.ping', () => 'pong');
  t.is(await rs.session.call('com.cli.ping'), 'pong');
  t.like(await healthz(), { status: 'ok', sessions: before.sessions + 2 });

  server.child.kill('SIGTERM');
  const [info, rsInfo, exit] = await Promise.all([closed, rs.closed, server.exit]);
  t.is(info.details.reason, 'wamp.close.system_shutdown');
  t.is(rsInfo.details.reason, 'wamp.close.system_shutdown');
  t.deepEqual(exit, { code: 0, signal: null });
});

test('SIGINT shuts down cleanly too; a raw client sees the GOODBYE frame', async (t) => {
  const server = await start(t);
  const c = await RawWamp.session(t, server.urls, { rawsocket: true, serializer: 'cbor' });
  server.child.kill('SIGINT');
  const g = await c.nextOf(T.GOODBYE);
  t.is(g[2], 'wamp.close.system_shutdown');
  c.goodbye('wamp.close.goodbye_and_out');
  t.deepEqual(await server.exit, { code: 0, signal: null });
});

test('--realm other serves realm "other" (and not realm1)', async (t) => {
  const server = await start(t, ['--realm', 'other']);
  const { session } = await openAutobahn(t, server.urls, { realm: 'other' });
  t.is(session.realm, 'other');
  const err = await t.throwsAsync(openAutobahn(t, server.urls, { realm: 'realm1' }));
  t.is((err as unknown as { details: { reason: string } }).details.reason, 'wamp.error.no_such_realm');
  server.child.kill('SIGTERM');
  t.is((await server.exit).code, 0);
});

test('--config FILE: realms, roles and ticket auth from a JSON file', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kitsune-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'kitsune.json');
  writeFileSync(
    file,
    JSON.stringify({
      realms: [
        // (the server binds its HTTP bridges to the first realm, as the anonymous role)
        { name: 'lobby', roles: [{ name: 'anonymous', permissions: [{ uri: 'lobby.', match: 'prefix', allow: { call: true, register: true } }] }], auth: { anonymous: { role: 'anonymous' } } },
        {
          name: 'fromfile',
          roles: [{ name: 'member', permissions: [{ uri: 'app.', match: 'prefix', allow: { publish: true, subscribe: true, call: true, register: true } }] }],
          auth: { ticket: { joe: { ticket: 'joe-ticket', role: 'member' } } },
        },
      ],
    }),
  );
  const server = await start(t, ['--config', file]);
  const ticket = (secret: string) => openAutobahn(t, server.urls, { realm: 'fromfile', authid: 'joe', authmethods: ['ticket'], onchallenge: () => secret });

  const { session } = await ticket('joe-ticket');
  await session.register('app.hello', () => 'hi');
  t.is(await session.call('app.hello'), 'hi');
  const denied = await session.call('other.thing').then(
    () => 'allowed',
    (e: { error: string }) => e.error,
  );
  t.is(denied, 'wamp.error.not_authorized');

  const wrong = await t.throwsAsync(ticket('nope'));
  t.is((wrong as unknown as { details: { reason: string } }).details.reason, 'wamp.error.authentication_failed');
  const anon = await t.throwsAsync(openAutobahn(t, server.urls, { realm: 'fromfile' }));
  t.is((anon as unknown as { details: { reason: string } }).details.reason, 'wamp.error.no_auth_method');
  const lobby = await openAutobahn(t, server.urls, { realm: 'lobby' });
  await lobby.session.register('lobby.echo', (a) => (a as unknown[])[0]);
  t.is(await lobby.session.call('lobby.echo', ['x']), 'x');
  t.is((await callError(lobby.session.call('wamp.session.count'))).error, 'wamp.error.not_authorized');
  const realm1 = await t.throwsAsync(openAutobahn(t, server.urls));
  t.is((realm1 as unknown as { details: { reason: string } }).details.reason, 'wamp.error.no_such_realm');
  server.child.kill('SIGTERM');
  t.is((await server.exit).code, 0);
});

test('--config FILE: the "mqtt" section sets the MQTT gate options; a bad one is refused', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kitsune-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'kitsune.json');
  writeFileSync(file, JSON.stringify({ mqtt: { receiveMaximum: 20, serverKeepAlive: 30 } }));
  const server = await start(t, ['--config', file]);
  const { client, connack: connacked } = connectRaw(server.urls.mqtt as string, { protocolVersion: 5, keepalive: 120 });
  const connack = await connacked;
  t.is(connack.properties?.receiveMaximum, 20);
  t.is(connack.properties?.serverKeepAlive, 30);
  await client.endAsync();
  server.child.kill('SIGTERM');
  t.is((await server.exit).code, 0);

  for (const [mqttSection, says] of [
    [{ receiveMaximum: 'many' }, /mqtt\.receiveMaximum: "many" is not an integer from 1 to 65535/],
    [{ recieveMaximum: 20 }, /mqtt\.recieveMaximum: unknown key/],
  ] as const) {
    writeFileSync(file, JSON.stringify({ mqtt: mqttSection }));
    const bad = run(t, ['--config', file, '--memory', '--port', '0', '--mqtt-port', '0']);
    t.is((await bad.exit).code, 2);
    t.regex(bad.stderr(), says);
  }
});

test('bad command lines exit with status 2 and a message', async (t) => {
  const cases = [['--port', 'eighty'], ['--no-such-flag'], ['--memory', '--data-dir', '/tmp/x'], ['--config', '/nonexistent/kitsune.json']];
  await Promise.all(
    cases.map(async (args) => {
      const p = run(t, args);
      const { code } = await p.exit;
      t.is(code, 2, args.join(' '));
      t.true(p.stderr().trim().length > 0, `a message on stderr for ${args.join(' ')}`);
      t.is(p.stdout(), '', 'nothing on stdout');
    }),
  );
});

test('an unusable data directory stops the server at start with a message naming the path and the cause', async (t) => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { spawn } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-baddata-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const notADir = join(dir, 'file');
  writeFileSync(notADir, 'not a directory');
  const corrupt = join(dir, 'corrupt');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(corrupt);
  writeFileSync(join(corrupt, 'kitsune.db'), 'this is not an SQLite database, just text that is long enough to fail the header check');
  for (const [path, cause] of [[join(notADir, 'data'), /ENOTDIR|not a directory/i], [corrupt, /not a database/i]] as const) {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', '--port', '0', '--mqtt-port', '0', '--data-dir', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    t.not(code, 0, 'it does not start');
    t.false(stdout.includes('"listening"'), 'it never says it is listening');
    t.true(stderr.includes(path) || stderr.includes(notADir), `the message names the path: ${stderr}`);
    t.regex(stderr, cause);
  }
});

test('the kitsune bin starts the same server', async (t) => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['bin/kitsune.js', '--port', '0', '--mqtt-port', '0', '--memory'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => child.kill('SIGKILL'));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0] as string);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}`)));
  });
  t.is((JSON.parse(line) as { event: string }).event, 'listening');
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  t.is(await exited, 0);
});
