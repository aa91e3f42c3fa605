// `kitsune passwd` (the real CLI, spawned once): a password piped in comes out as a hashed secret
// that, put in a config file, logs in over MQTT and WAMP-Ticket. Refusals and check-config run
// in-process (what `kitsune` runs), to spare the machine more Node start-ups.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import test from 'ava';
import { parseCommandLine } from '../../server/cli.ts';
import { runPasswd } from '../../server/passwd.ts';
import { startChildServer } from '../helpers/child-server.ts';
import { connect, connectRaw } from '../helpers/mqtt-harness.ts';
import { openAutobahn } from '../helpers/autobahn.ts';

const dir = mkdtempSync(join(tmpdir(), 'kitsune-passwd-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function kitsune(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input);
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** `kitsune ARGS` in-process, with `input` as a piped (non-terminal) stdin. */
async function inProcess(args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const output = { out: (text: string) => void (stdout += text), err: (text: string) => void (stderr += text) };
  const cli = parseCommandLine(args, {}, output);
  if (cli.kind === 'run') throw new Error('would start the server');
  const code = cli.kind === 'passwd' ? await runPasswd(cli.options, Readable.from([Buffer.from(input)]) as unknown as NodeJS.ReadStream, output) : cli.code;
  return { code, stdout, stderr };
}

const realm = (auth: Record<string, unknown>) => ({ name: 'app', roles: [{ name: 'user', permissions: [{ uri: 'app.', match: 'prefix', allow: { publish: true, subscribe: true } }] }], auth });

test('the printed secret logs in with the password it was made from (mqtt.js and a WAMP ticket client)', async (t) => {
  const [scrypt, pbkdf2] = await Promise.all([kitsune(['passwd'], 'pass word ü\n'), inProcess(['passwd', '--algorithm', 'pbkdf2-sha256', '--cost', '20000'], 'other\r\nignored line\n')]);
  t.is(scrypt.code, 0, scrypt.stderr);
  t.regex(scrypt.stdout, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+\n$/);
  t.is(pbkdf2.code, 0, pbkdf2.stderr);
  t.regex(pbkdf2.stdout, /^\$pbkdf2-sha256\$i=20000\$/);
  const file = join(dir, 'hashed.json');
  const ticket = { joe: { ticket: scrypt.stdout.trim(), role: 'user' }, ann: { ticket: pbkdf2.stdout.trim(), role: 'user' } };
  writeFileSync(file, JSON.stringify({ realms: [realm({ ticket })] }));
  const server = await startChildServer(t, ['--config', file, '--port', '0', '--mqtt-port', '0', '--memory']);
  const mqttUrl = server.urls.mqtt as string;
  const joe = await connect(mqttUrl, { protocolVersion: 4, username: 'joe@app', password: 'pass word ü' });
  t.teardown(() => joe.end(true));
  t.true(joe.connected);
  const ann = await connect(mqttUrl, { protocolVersion: 5, username: 'ann@app', password: 'other' });
  t.teardown(() => ann.end(true));
  t.true(ann.connected);
  const { client, connack } = connectRaw(mqttUrl, { protocolVersion: 4, username: 'joe@app', password: 'pass word' });
  t.teardown(() => client.end(true));
  t.is(((await t.throwsAsync(connack)) as Error & { code?: number }).code, 0x04);
  const wamp = await openAutobahn(t, server.urls, { realm: 'app', authid: 'joe', authmethods: ['ticket'], onchallenge: () => 'pass word ü' });
  t.true(wamp.connection.isOpen);
});

test('passwd refuses an empty password and a cost out of bounds, with exit code 2', async (t) => {
  const empty = await inProcess(['passwd'], '\n');
  t.is(empty.code, 2);
  t.regex(empty.stderr, /empty password/);
  t.is(empty.stdout, '');
  const cost = await inProcess(['passwd', '--cost', '40'], 'pw\n');
  t.is(cost.code, 2);
  t.regex(cost.stderr, /--cost 40: scrypt parameters out of range/);
  const algorithm = await inProcess(['passwd', '--algorithm', 'md5'], 'pw\n');
  t.is(algorithm.code, 2);
  t.regex(algorithm.stderr, /Allowed choices are scrypt, pbkdf2-sha256/);
});

test('check-config refuses broken hashes, reserved principal names and unknown users without an anonymous role', async (t) => {
  const file = join(dir, 'bad.json');
  writeFileSync(
    file,
    JSON.stringify({
      realms: [
        realm({
          unknownUsers: 'anonymous',
          ticket: { joe: { ticket: '$scrypt$ln=15,r=8$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', role: 'user' }, 'mqtt-anon:x': { ticket: 'pw', role: 'user' } },
          cryptosign: { 'anonymous-1': { authorized_keys: ['ab'.repeat(32)], role: 'user' }, bad: { authorized_keys: ['xyz'], role: 'user' } },
        }),
      ],
    }),
  );
  const out = await inProcess(['check-config', file]);
  t.is(out.code, 2);
  t.deepEqual(out.stderr.trim().split('\n').sort(), [
    `${file}: realms[0].auth.cryptosign.bad.authorized_keys[0]: "xyz" is not a string matching ^[0-9a-fA-F]{64}$`,
  ]);
  const schemaOk = join(dir, 'bad2.json');
  writeFileSync(
    schemaOk,
    JSON.stringify({
      realms: [
        realm({
          unknownUsers: 'anonymous',
          ticket: { joe: { ticket: '$scrypt$ln=15,r=8$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', role: 'user' }, 'mqtt-anon:x': { ticket: 'pw', role: 'user' } },
          cryptosign: { 'anonymous-1': { authorized_keys: ['ab'.repeat(32)], role: 'user' } },
        }),
      ],
    }),
  );
  const out2 = await inProcess(['check-config', schemaOk]);
  t.is(out2.code, 2);
  t.deepEqual(out2.stderr.trim().split('\n').sort(), [
    `${schemaOk}: realms[0].auth.cryptosign.anonymous-1: principal names may not start with "mqtt-anon:" or "anonymous-" (reserved for anonymous clients)`,
    `${schemaOk}: realms[0].auth.ticket.joe.ticket: not a valid hashed secret: parameter p is missing`,
    `${schemaOk}: realms[0].auth.ticket["mqtt-anon:x"]: principal names may not start with "mqtt-anon:" or "anonymous-" (reserved for anonymous clients)`,
    `${schemaOk}: realms[0].auth.unknownUsers: "anonymous" needs auth.anonymous (the role unknown users get)`,
  ]);
});
