// supervisord/resource-lock.ini (a copy on free ports, logs and socket in a temp dir) starts its
// router and workers under supervisord; `supervisorctl status` sees them RUNNING, `supervisorctl
// shutdown` stops them and supervisord, and no process of theirs is left.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import test from 'ava';
import { sleep } from '../helpers/wait.ts';
import { isAlive } from '../helpers/child-server.ts';

const ROOT = resolve(import.meta.dirname, '../..');

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

function ctl(conf: string, ...args: string[]): Promise<string> {
  return new Promise((resolvePromise) => {
    execFile('supervisorctl', ['-c', conf, ...args], { timeout: 15_000 }, (_err, stdout, stderr) => resolvePromise(`${stdout}${stderr}`));
  });
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));

test('resource-lock.ini: supervisorctl sees every program RUNNING, and shutdown leaves no process behind', async (t) => {
  t.timeout(90_000);
  t.true(existsSync('/usr/bin/supervisord'), 'supervisord is missing: install supervisor (Debian: apt-get install supervisor)');
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-supervisord-'));
  const [port, mqttPort] = [await freePort(), await freePort()];
  const conf = join(dir, 'resource-lock.ini');
  const ini = readFileSync(join(ROOT, 'supervisord/resource-lock.ini'), 'utf8');
  t.regex(ini, /^\[unix_http_server\]$/m);
  t.regex(ini, /^serverurl=unix:\/\/\/tmp\/kitsune-supervisor-lock\.sock$/m);
  t.regex(ini, /^\[rpcinterface:supervisor\]$/m);
  writeFileSync(
    conf,
    ini
      .replaceAll('%(here)s/..', ROOT)
      .replaceAll('/tmp/kitsune-', join(dir, 'kitsune-'))
      .replaceAll('./data/resource-lock', join(dir, 'data'))
      .replaceAll('8080', String(port))
      .replaceAll('1883', String(mqttPort)),
  );
  const supervisord = spawn('supervisord', ['-n', '-c', conf], { stdio: 'ignore' });
  const pids: number[] = [];
  t.teardown(async () => {
    // only if the test failed half-way: stop what it started, by pid
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    if (supervisord.exitCode === null && supervisord.signalCode === null) supervisord.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const programs = ['router', 'worker:w0', 'worker:w1', 'worker:w2'];
  let status = '';
  const deadline = Date.now() + 60_000;
  for (;;) {
    status = await ctl(conf, 'status');
    const running = programs.filter((p) => new RegExp(`^${p}\\s+RUNNING\\s+pid (\\d+)`, 'm').test(status));
    if (running.length === programs.length) break;
    if (Date.now() > deadline) return t.fail(`not every program is RUNNING:\n${status}`);
    await sleep(500);
  }
  for (const p of programs) pids.push(Number(new RegExp(`^${p}\\s+RUNNING\\s+pid (\\d+)`, 'm').exec(status)?.[1]));
  t.true(pids.every((pid) => pid > 0 && isAlive(pid)));
  t.regex(await ctl(conf, 'stop', 'all'), /router: stopped/);
  t.regex(await ctl(conf, 'status'), /router\s+STOPPED/);
  await ctl(conf, 'shutdown');
  await exited(supervisord);
  t.is(supervisord.exitCode, 0);
  for (const pid of pids) t.false(isAlive(pid), `pid ${pid} is gone`);
});
