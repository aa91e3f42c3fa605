// The configuration is checked against one schema: each wrong file below stops the server with
// exactly these messages (JSON path, value, what is allowed), and flags and KITSUNE_* variables
// go through the same checks. In-process: parseCommandLine is what `kitsune` runs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { type CliOutcome, parseCommandLine } from '../../server/cli.ts';
import { ConfigError, defaultConfig, readConfigFile } from '../../server/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'kitsune-config-errors-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
function configFile(content: unknown): string {
  const path = join(dir, `c${files++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const realm = (extra: Record<string, unknown> = {}) => ({ name: 'r', roles: [{ name: 'user', permissions: [{ uri: 'a.', match: 'prefix', allow: { call: true } }] }], auth: { anonymous: { role: 'user' } }, ...extra });

const cases: [string, unknown, string[]][] = [
  [
    'a misspelt match policy',
    { realms: [{ name: 'r', roles: [{ name: 'a', permissions: [] }, { name: 'b', permissions: [{ uri: 'x', match: 'pefix', allow: {} }] }], auth: {} }] },
    ['realms[0].roles[1].permissions[0].match: "pefix" is not one of exact, prefix, wildcard'],
  ],
  ['a port given as text', { port: 'abc' }, ['port: "abc" is not an integer from 0 to 65535']],
  ['a port out of range', { mqttPort: 70000 }, ['mqttPort: 70000 is not an integer from 0 to 65535 or null']],
  ['an unknown top-level key', { prot: 8080 }, ['prot: unknown key (allowed: host, port, mqttPort, mqttsPort, dataDir, memory, redis, hustmqPort, hustdbPort, esubPort, logLevel, realms, autoCreateRealms, limits, cluster, mqtt, connections, dashboard, websocket, cors, http, hustmq, hustdb, esub, tls)']],
  ['an unknown mqtt key', { mqtt: { recieveMaximum: 5 } }, ['mqtt.recieveMaximum: unknown key (allowed: receiveMaximum, topicAliasMaximum, serverKeepAlive, maxKeepAlive, maxSessionExpiry, v3SessionExpiry, maxQueuedMessages, maxQueuedBytes, sessionSweepMs, connectTimeoutMs, maxPacketSize, forbiddenPublish, sysInterval, useIdentityAsUsername)']],
  ['a negative limit', { limits: { maxMessageBytes: -1 } }, ['limits.maxMessageBytes: -1 is not an integer >= 1']],
  ['a nesting depth past its bound', { limits: { maxNestingDepth: 5000 } }, ['limits.maxNestingDepth: 5000 is not an integer from 2 to 1000']],
  ['a wrong log level', { logLevel: 'verbose' }, ['logLevel: "verbose" is not one of fatal, error, warn, info, debug, trace, silent']],
  ['a realm without name and auth', { realms: [{ roles: [] }] }, ['realms[0].name: missing (required)', 'realms[0].auth: missing (required)']],
  ['a boolean as text', { memory: 'yes' }, ['memory: "yes" is not true or false']],
  ['realms not a list', { realms: { name: 'r' } }, ['realms: {"name":"r"} is not a list (each an object {name, roles, auth, history})']],
  ['a ticket principal without its role', { realms: [realm({ auth: { ticket: { joe: { ticket: 's' } } } })] }, ['realms[0].auth.ticket.joe.role: missing (required)']],
  ['a principal key that is not a name', { realms: [realm({ auth: { ticket: { 'joe.smith': { ticket: 's', role: 7 } } } })] }, ['realms[0].auth.ticket["joe.smith"].role: 7 is not a non-empty string']],
  ['an esub store mode', { esub: { storeMode: 'some' } }, ['esub.storeMode: "some" is not one of none, unclaimed, all']],
  ['a hustmq timeout of zero', { hustmq: { doGetTimeoutMs: 0 } }, ['hustmq.doGetTimeoutMs: 0 is not an integer >= 1']],
  ['compression as true', { websocket: { compression: true } }, ['websocket.compression: true is not false, or an object {threshold}']],
  ['CORS without origins', { cors: {} }, ['cors.allowedOrigins: missing (required)']],
  ['a role that the realm lacks', { realms: [realm({ auth: { anonymous: { role: 'guest' } } })] }, ['realms[0].auth.anonymous.role: "guest" is not a role of realm "r" (roles: user, trusted)']],
  ['a ticket principal whose role the realm lacks', { realms: [realm({ auth: { ticket: { 'joe.smith': { ticket: 's', role: 'admin' } } } })] }, ['realms[0].auth.ticket["joe.smith"].role: "admin" is not a role of realm "r" (roles: user, trusted)']],
  ['a realm defined twice', { realms: [realm(), realm()] }, ['realms[1].name: "r" is defined twice']],
  ['a bridge on an unknown realm', { realms: [realm()], hustmq: { realm: 'nope' } }, ['hustmq.realm: "nope" is not a configured realm (realms: r)']],
  [
    'a hustdb user whose principal does not exist',
    { realms: [realm()], hustdb: { auth: { web: { password: 'p', principal: 'ghost' } } } },
    ['hustdb.auth.web.principal: "ghost" is not a ticket or wampcra principal of realm "r"'],
  ],
  ['several problems at once', { port: -1, host: '', websocket: { engine: 'uws' } }, ['host: "" is not a non-empty string', 'port: -1 is not an integer from 0 to 65535', 'websocket.engine: "uws" is not one of kitsune, ws']],
];

for (const [name, content, messages] of cases) {
  test(`config error: ${name}`, (t) => {
    const path = configFile(content);
    const err = t.throws(() => readConfigFile(path, defaultConfig()), { instanceOf: ConfigError }) as ConfigError;
    t.deepEqual(err.problems, messages.map((m) => `${path}: ${m}`));
  });
}

test('config error: a file that is not JSON, and one that is missing', (t) => {
  const bad = configFile('{"port": 80,}');
  t.regex((t.throws(() => readConfigFile(bad, defaultConfig())) as Error).message, new RegExp(`^${bad}: not valid JSON: `));
  t.regex((t.throws(() => readConfigFile(join(dir, 'missing.json'), defaultConfig())) as Error).message, /^cannot read config file .*missing\.json: ENOENT/);
});

test('a valid file is read onto the defaults', (t) => {
  const path = configFile({ port: 0, mqttPort: null, realms: [realm()], limits: { maxMessageBytes: 1024 }, cors: { allowedOrigins: ['https://app.example'] } });
  const cfg = readConfigFile(path, defaultConfig());
  t.is(cfg.port, 0);
  t.is(cfg.mqttPort, null);
  t.is(cfg.host, '127.0.0.1');
  t.deepEqual(cfg.router.realms.map((r) => r.name), ['r']);
  t.deepEqual(cfg.router.limits, { maxMessageBytes: 1024 });
  t.deepEqual(cfg.cors, { allowedOrigins: ['https://app.example'] });
});

function cli(argv: string[], env: NodeJS.ProcessEnv = {}): { outcome: CliOutcome; out: string; err: string } {
  let out = '';
  let err = '';
  const outcome = parseCommandLine(argv, env, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { outcome, out, err };
}

test('flags and KITSUNE_* variables go through the schema, naming the flag or the variable', (t) => {
  const flags = cli(['--port', 'abc', '--mqtt-port', '99999', '--log-level', 'loud']);
  t.deepEqual(flags.outcome, { kind: 'exit', code: 2 });
  t.is(flags.err, ['--port: "abc" is not an integer from 0 to 65535', '--mqtt-port: 99999 is not an integer from 0 to 65535 or null', '--log-level: "loud" is not one of fatal, error, warn, info, debug, trace, silent', ''].join('\n'));

  const env = cli([], { KITSUNE_PORT: '80x', KITSUNE_MEMORY: 'maybe', LOG_LEVEL: 'chatty' });
  t.deepEqual(env.outcome, { kind: 'exit', code: 2 });
  t.is(env.err, ['KITSUNE_PORT: "80x" is not an integer from 0 to 65535', 'KITSUNE_MEMORY: "maybe" is not true or false', 'LOG_LEVEL: "chatty" is not one of fatal, error, warn, info, debug, trace, silent', ''].join('\n'));

  const esub = cli([], { ESUB_STORE: 'some', ESUB_PORT: 'x' });
  t.is(esub.err, "ESUB_STORE must be none, unclaimed or all, got 'some'\nESUB_PORT must be a port number (0-65535), got 'x'\n");
  t.deepEqual(esub.outcome, { kind: 'exit', code: 2 });

  const both = cli(['--memory', '--data-dir', '/tmp/x']);
  t.is(both.err, '--data-dir and --memory exclude each other\n');
  const unknown = cli(['--no-such-flag']);
  t.deepEqual(unknown.outcome, { kind: 'exit', code: 2 });
  t.regex(unknown.err, /unknown option '--no-such-flag'/);
});

test('defaults < file < variables < flags', (t) => {
  const path = configFile({ port: 1000, host: '127.0.0.2', logLevel: 'warn', mqttPort: 1884 });
  const { outcome } = cli(['--config', path, '--port', '3000', '--mqtt-port', 'none'], { KITSUNE_PORT: '2000', KITSUNE_HOST: '127.0.0.3', LOG_LEVEL: 'error', KITSUNE_MEMORY: 'true' });
  if (outcome.kind !== 'run') return t.fail(`not run: ${JSON.stringify(outcome)}`);
  t.like(outcome.config, { port: 3000, host: '127.0.0.3', logLevel: 'error', mqttPort: null, memory: true, dataDir: './data' });
  t.is(outcome.configFile, path);
  const viaEnv = cli([], { KITSUNE_CONFIG: path, KITSUNE_REALM: 'other' });
  if (viaEnv.outcome.kind !== 'run') return t.fail('exited');
  t.is(viaEnv.outcome.config.port, 1000);
  t.deepEqual(viaEnv.outcome.config.router.realms.map((r) => r.name), ['other']);
});

test('--help lists every flag with its default and variable; --version prints the version', (t) => {
  const help = cli(['--help']);
  t.deepEqual(help.outcome, { kind: 'exit', code: 0 });
  const text = help.out.replace(/\s+/g, ' ');
  for (const [flag, shown] of [
    ['--host <host>', '(default: "127.0.0.1")'],
    ['--port <port>', '(default: 8080)'],
    ['--mqtt-port <port>', '(default: 1883)'],
    ['--data-dir <dir>', '(default: "./data")'],
    ['--memory', '(default: false)'],
    ['--redis <url>', '(default: none)'],
    ['--hustmq-port <port>', '(default: none)'],
    ['--hustdb-port <port>', '(default: none)'],
    ['--esub-port <port>', '(default: none)'],
    ['--log-level <level>', '(default: "info")'],
  ]) {
    t.true(text.includes(flag), flag);
    const line = text.slice(text.indexOf(flag), text.indexOf('--', text.indexOf(flag) + 3));
    t.true(line.includes(shown), `${flag} shows ${shown}: ${line}`);
    t.regex(line, /env KITSUNE_[A-Z_]+/);
  }
  for (const other of ['--config <file>', '--realm <name>', '--print-config-schema', '--version', 'check-config <file>']) t.true(text.includes(other), other);
  const version = cli(['--version']);
  t.deepEqual(version.outcome, { kind: 'exit', code: 0 });
  t.regex(version.out, /^\d+\.\d+\.\d+\n$/);
});

test('check-config FILE: "ok" and 0, or every problem and 2; --print-config-schema prints the schema', (t) => {
  const good = configFile({ realms: [realm()] });
  const ok = cli(['check-config', good]);
  t.deepEqual(ok.outcome, { kind: 'exit', code: 0 });
  t.is(ok.out, `${good}: ok\n`);
  const bad = configFile({ port: 'abc', realms: [realm({ auth: { anonymous: { role: 'x' } } })] });
  const refused = cli(['check-config', bad]);
  t.deepEqual(refused.outcome, { kind: 'exit', code: 2 });
  t.is(refused.err, `${bad}: port: "abc" is not an integer from 0 to 65535\n`, 'the cross-checks run once the schema passes');
  const schema = cli(['--print-config-schema']);
  t.deepEqual(schema.outcome, { kind: 'exit', code: 0 });
  const parsed = JSON.parse(schema.out) as { properties: Record<string, unknown>; additionalProperties: boolean };
  t.false(parsed.additionalProperties);
  t.true('realms' in parsed.properties && 'cors' in parsed.properties && 'hustmq' in parsed.properties);
});
