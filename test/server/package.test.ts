// kitsune as a package, used the way a user uses it: `npm pack` (which builds dist/), the tarball
// installed into an empty project from the npm cache alone, then `import { createRouter } from
// 'kitsune'` from plain Node.js and from TypeScript, the `kitsune` bin, and what importing the
// library loads. Also `npm start` in this checkout: it runs the built server, which is the process
// the signals reach.
//
// The install is offline and runs no install scripts: better-sqlite3 would compile SQLite from
// source (minutes) without its prebuilt binary, which needs the network. Neither the library nor
// the memory store loads it; the server loads its native part only when it opens a SQLite store.
// The cache holds the dependencies' tarballs but not always their registry metadata, so the empty
// project gets a lock made from ours (resolved URLs and integrity): `npm ci` needs nothing else.
import test from 'ava';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive } from '../helpers/child-server.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'kitsune-package-'));
const project = join(work, 'project');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

async function ok(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await run(command, args, cwd, env);
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-3000)}${r.stdout.slice(-2000)}`);
  return r.stdout;
}

type LockEntry = { dev?: boolean; [key: string]: unknown };

/** The empty project's lock: kitsune from the tarball, our lock's entries for its dependencies, and typescript. */
function projectLock(tarball: string, integrity: string): object {
  const ours = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const packages: Record<string, unknown> = {};
  for (const [path, entry] of Object.entries(ours.packages)) {
    if (path !== '' && !entry.dev) packages[path] = entry;
  }
  const typescript = ours.packages['node_modules/typescript']!;
  packages['node_modules/typescript'] = { ...typescript, dev: undefined };
  packages['node_modules/kitsune'] = {
    version: pkg.version,
    resolved: `file:../${tarball}`,
    integrity,
    license: 'MIT',
    dependencies: pkg.dependencies,
    bin: { kitsune: 'bin/kitsune.js' },
    engines: { node: '>=20.19' },
  };
  const dependencies = { kitsune: `file:../${tarball}`, typescript: typescript.version, '@types/node': ours.packages['node_modules/@types/node']!.version };
  packages[''] = { name: 'project', dependencies };
  return { name: 'project', lockfileVersion: 3, requires: true, packages };
}

test.before(async (t) => {
  t.timeout(300_000, 'npm pack (a build) and npm ci on a busy machine');
  const [packed] = JSON.parse(await ok('npm', ['pack', '--json', '--pack-destination', work], root)) as { filename: string; integrity: string }[];
  const lock = projectLock(packed!.filename, packed!.integrity) as { packages: Record<string, { dependencies?: object }> };
  writeFileSync(join(work, 'package.json'), '{}'); // stops npm from looking for a project above the temp dir
  await ok('mkdir', ['-p', project], work);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'project', private: true, dependencies: lock.packages['']!.dependencies }, null, 2));
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify(lock, null, 2));
  await ok('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], project);
});

test.after.always(() => rmSync(work, { recursive: true, force: true }));

test('the tarball holds the build, the bin and the docs; no sources, tests or build leftovers', async (t) => {
  const installed = join(project, 'node_modules', 'kitsune');
  for (const file of ['dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/server/main.js', 'dist/server/config-checks.generated.cjs', 'bin/kitsune.js', 'README.md', 'LICENSE', 'CHANGELOG.md', 'docs/configuration.md']) {
    t.true(existsSync(join(installed, file)), file);
  }
  for (const file of ['lib', 'server', 'test', 'demo', 'tsconfig.json', 'dist/.tsbuildinfo', 'dist/server/config-precompile.js']) {
    t.false(existsSync(join(installed, file)), file);
  }
  t.false(existsSync(join(project, 'node_modules', 'tsx')), 'tsx is not installed with kitsune');
});

test('plain Node.js: import { createRouter } from "kitsune"; a local client receives what another publishes', async (t) => {
  const script = `
    const { createRouter, openRealm } = await import('kitsune');
    const router = createRouter({ realms: [openRealm('realm1')] });
    const alice = router.connect('realm1');
    const bob = router.connect('realm1');
    const got = new Promise((resolve) => bob.subscribe('news.today', (e) => resolve(e.args)));
    await new Promise((r) => setTimeout(r, 10));
    await alice.publish('news.today', ['hello'], {}, { acknowledge: true });
    console.log(JSON.stringify(await got));
    process.exit(0);`;
  t.is((await ok(process.execPath, ['--input-type=module', '-e', script], project)).trim(), '["hello"]');
});

test('TypeScript (module NodeNext, no special flags) type-checks against the installed declarations', async (t) => {
  const dir = join(project, 'ts');
  await ok('mkdir', ['-p', dir], project);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true } }));
  writeFileSync(
    join(dir, 'main.ts'),
    `import { createRouter, openRealm, type Client, type ClientEvent, type RouterConfig } from 'kitsune';
const config: RouterConfig = { realms: [openRealm('realm1')] };
const router = createRouter(config);
const client: Client = router.connect('realm1');
await client.subscribe('a.b', (e: ClientEvent) => console.log(e.args, e.topic));
const id: number = await client.publish('a.b', [1]);
console.log(id);
// @ts-expect-error the declarations are real: a router is not a string (an \`any\` would fail this line)
const wrong: string = router;
console.log(wrong);
`,
  );
  const r = await run(process.execPath, [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], dir);
  t.is(r.code, 0, r.stdout + r.stderr);
});

test('the bin runs the built server without tsx: --version, --help, check-config', async (t) => {
  const bin = join(project, 'node_modules', '.bin', 'kitsune');
  const bad = join(work, 'bad.json');
  writeFileSync(bad, JSON.stringify({ realms: [{ name: 'r', roles: [{ name: 'x', permissions: [{ uri: 'a.', match: 'pefix', allow: {} }] }], auth: {} }] }));
  const [version, help, check] = await Promise.all([run(bin, ['--version'], project), run(bin, ['--help'], project), run(bin, ['check-config', bad], project)]);
  t.deepEqual(version, { code: 0, signal: null, stdout: `${pkg.version}\n`, stderr: '' });
  t.is(help.code, 0);
  t.regex(help.stdout, /--port <port>/);
  t.regex(help.stdout, /KITSUNE_MQTT_PORT/);
  // the precompiled validators say what the sources' validators say (test/server/config-errors.test.ts)
  t.deepEqual(check, { code: 2, signal: null, stdout: '', stderr: `${bad}: realms[0].roles[0].permissions[0].match: "pefix" is not one of exact, prefix, wildcard\n` });
});

test('importing the library loads neither Koa, commander, the config schema nor the server', async (t) => {
  const log = join(work, 'loaded.txt');
  // a resolve hook that writes down every module the import brings in
  writeFileSync(
    join(project, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, resolved.url + '\\n');
  return resolved;
}
`,
  );
  writeFileSync(join(project, 'record.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
  await ok(process.execPath, ['--import', './record.mjs', '--input-type=module', '-e', "const k = await import('kitsune'); if (typeof k.createRouter !== 'function') process.exit(1);"], project);
  const loaded = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  t.true(loaded.some((url) => url.endsWith('/node_modules/kitsune/dist/lib/index.js')), 'the hook saw the library load');
  const unwanted = loaded.filter((url) => /\/node_modules\/(koa|@koa|commander|ajv|@sinclair|pino|prom-client|better-sqlite3|ioredis|ws)\/|\/kitsune\/dist\/(server|bridge)\//.test(url));
  t.deepEqual(unwanted, []);
});

test('the installed server starts from the bin and stops on SIGTERM with exit 0', async (t) => {
  t.timeout(120_000);
  const server = spawn(join(project, 'node_modules', '.bin', 'kitsune'), ['--port', '0', '--mqtt-port', '0', '--memory', '--log-level', 'warn'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
  const listening = await untilListening(t, server);
  t.is((await fetch(`${listening.http}/healthz`)).status, 200);
  server.kill('SIGTERM');
  t.deepEqual(await closed(server), [0, null]);
});

test('SIGTERM to `npm start` (the built server, exec-ed) stops the server, exit 0, no process left', async (t) => {
  t.timeout(120_000);
  const npm = spawn('npm', ['start', '--', '--port', '0', '--mqtt-port', '0', '--memory'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const listening = await untilListening(t, npm);
  // npm runs the script with `sh -c`, whose `exec` makes node the very child npm waits for and signals
  const [serverPid] = readFileSync(`/proc/${npm.pid}/task/${npm.pid}/children`, 'utf8').trim().split(' ').map(Number);
  t.teardown(() => {
    if (isAlive(serverPid!)) process.kill(serverPid!, 'SIGKILL');
  });
  const [command, script] = readFileSync(`/proc/${serverPid}/cmdline`, 'utf8').split('\0');
  t.deepEqual([basename(command!), script], ['node', 'dist/server/main.js']);
  t.is((await fetch(`${listening.http}/healthz`)).status, 200);
  npm.kill('SIGTERM');
  t.deepEqual(await closed(npm), [0, null]);
  t.false(isAlive(serverPid!), `server pid ${serverPid} is gone, not orphaned`);
  await t.throwsAsync(fetch(`${listening.http}/healthz`));
});

function closed(child: ChildProcess): Promise<[number | null, NodeJS.Signals | null]> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve([child.exitCode, child.signalCode]);
  return new Promise((resolve) => child.once('close', (code, signal) => resolve([code, signal])));
}

/** Waits for the server's {"event":"listening"} line (generously: the machine may be busy). */
function untilListening(t: { teardown(fn: () => void): void }, child: ChildProcess): Promise<Record<string, string>> {
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"event":"listening"'));
      if (line && out.includes(`${line}\n`)) resolve(JSON.parse(line) as Record<string, string>);
    });
    child.once('close', (code) => reject(new Error(`exited ${code} before listening: ${err.slice(-2000)}`)));
  });
}
