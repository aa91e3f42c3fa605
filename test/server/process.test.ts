// The server as an operator runs it: the log has one line per listener, session start and end,
// refused authentication and authorization and protocol violation; SIGHUP applies new realms, roles
// and principals, and a bad file changes nothing (the log says why); the kitsune bin exits 2 on a
// bad configuration. (SIGTERM to `npm start` is in package.test.ts, which builds what it runs.)
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callError, openAutobahn } from '../helpers/autobahn.ts';
import { type ChildServer, startChildServer } from '../helpers/child-server.ts';
import { RawWamp } from '../helpers/raw-wamp.ts';

function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-process-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

type Line = Record<string, unknown>;
function logLines(server: ChildServer): Line[] {
  return server
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

/** Waits (generously: the machine may be busy) for a log line with these fields. */
async function logged(server: ChildServer, fields: Line, timeoutMs = 30_000): Promise<Line> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = logLines(server).find((l) => Object.entries(fields).every(([k, v]) => JSON.stringify(l[k]) === JSON.stringify(v)));
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no log line ${JSON.stringify(fields)} in:\n${server.stderr().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const appRealm = (ticket: string) => ({
  name: 'app',
  roles: [{ name: 'member', permissions: [{ uri: 'app.', match: 'prefix', allow: { call: true, register: true } }] }],
  auth: { ticket: { joe: { ticket, role: 'member' } } },
});

test('log lines: listeners, sessions, refusals, protocol violations; SIGHUP reloads principals, a bad file changes nothing', async (t) => {
  t.timeout(180_000);
  const dir = tempDir(t);
  const file = join(dir, 'kitsune.json');
  writeFileSync(file, JSON.stringify({ realms: [appRealm('first')] }));
  const server = await startChildServer(t, ['--config', file, '--port', '0', '--mqtt-port', '0', '--memory'], { ...process.env, LOG_LEVEL: 'info' });
  await logged(server, { event: 'listener', listener: 'wamp', url: server.urls.wamp });
  await logged(server, { event: 'listener', listener: 'mqtt', url: server.urls.mqtt });

  const joe = (ticket: string, realm = 'app') => openAutobahn(t, server.urls, { realm, authid: 'joe', authmethods: ['ticket'], onchallenge: () => ticket });
  const first = await joe('first');
  const firstId = first.session.id;
  const joined = await logged(server, { event: 'session.join', realm: 'app', authid: 'joe' });
  t.like(joined, { protocol: 'wamp', authrole: 'member', session: firstId, level: 30 });
  t.regex(String(joined.address), /127\.0\.0\.1/);
  t.is((await callError(first.session.call('other.thing'))).error, 'wamp.error.not_authorized');
  t.like(await logged(server, { event: 'authz.refused' }), { realm: 'app', authid: 'joe', action: 'call', uri: 'other.thing', protocol: 'wamp' });
  await t.throwsAsync(joe('wrong'));
  t.like(await logged(server, { event: 'auth.refused' }), { protocol: 'wamp', realm: 'app', reason: 'wamp.error.authentication_failed' });
  first.session.leave('wamp.close.normal', 'bye');
  await first.closed;
  t.like(await logged(server, { event: 'session.leave', session: firstId }), { realm: 'app', authid: 'joe', protocol: 'wamp' });

  const raw = await RawWamp.ws(t, server.urls.wamp!);
  raw.sendBytes(Buffer.from('[1, "app", {'));
  await raw.closed;
  t.regex(String((await logged(server, { msg: 'WAMP protocol violation' })).message), /JSON|parse|invalid/i);

  // a bad file: the running configuration stays, the log says why
  writeFileSync(file, JSON.stringify({ realms: [{ ...appRealm('second'), roles: [{ name: 'member', permissions: [{ uri: 'app.', match: 'pefix', allow: {} }] }] }] }));
  server.child.kill('SIGHUP');
  const refused = await logged(server, { event: 'config.reload', ok: false });
  t.is(refused.level, 50);
  t.deepEqual(refused.problems, [`${file}: realms[0].roles[0].permissions[0].match: "pefix" is not one of exact, prefix, wildcard`]);
  const still = await joe('first');
  still.session.leave('wamp.close.normal', 'bye');

  // a good file: new ticket, new realm, a change that needs a restart is named
  writeFileSync(file, JSON.stringify({ realms: [appRealm('second'), { ...appRealm('x'), name: 'extra' }], limits: { maxMessageBytes: 65536 } }));
  server.child.kill('SIGHUP');
  t.like(await logged(server, { event: 'config.reload', ok: true }), { added: ['extra'], updated: ['app'], kept: [], needsRestart: ['limits'] });
  await t.throwsAsync(joe('first'));
  const second = await joe('second');
  t.is(second.session.realm, 'app');
  const extra = await joe('x', 'extra');
  t.is(extra.session.realm, 'extra');

  server.child.kill('SIGTERM');
  t.is(await server.exited, 0);
});

test('debug level traces each WAMP message; the bin exits 2 naming a bad flag or file', async (t) => {
  t.timeout(120_000);
  const server = await startChildServer(t, ['--port', '0', '--mqtt-port', 'none', '--memory', '--log-level', 'debug']);
  const c = await openAutobahn(t, server.urls);
  const id = c.session.id;
  await c.session.publish('trace.me', [1], {}, { acknowledge: true });
  t.like(await logged(server, { event: 'wamp.message', type: 16 }), { session: id, level: 20 });
  server.child.kill('SIGTERM');
  t.is(await server.exited, 0);

  const dir = tempDir(t);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ port: 'abc' }));
  const run = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, ['bin/kitsune.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.once('close', (code) => resolve({ code, stdout, stderr }));
    });
  const [check, start, env, help] = await Promise.all([
    run(['check-config', bad]),
    run(['--config', bad, '--memory']),
    run(['--memory'], { ...process.env, KITSUNE_PORT: 'abc' }),
    run(['--help']),
  ]);
  t.deepEqual(check, { code: 2, stdout: '', stderr: `${bad}: port: "abc" is not an integer from 0 to 65535\n` });
  t.deepEqual(start, { code: 2, stdout: '', stderr: `${bad}: port: "abc" is not an integer from 0 to 65535\n` });
  t.deepEqual(env, { code: 2, stdout: '', stderr: 'KITSUNE_PORT: "abc" is not an integer from 0 to 65535\n' });
  t.is(help.code, 0);
  t.regex(help.stdout, /--port <port>[\s\S]*\(default: 8080\)/);
});
