// docs/kitsune.service passes `systemd-analyze verify` without a warning: every key is known and
// valid, and the command it runs exists (a copy points at this checkout and this node binary).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';

const ANALYZE = '/usr/bin/systemd-analyze';
const ROOT = resolve(import.meta.dirname, '../..');

test('docs/kitsune.service: systemd-analyze verify finds no error and no warning', async (t) => {
  t.timeout(60_000);
  t.true(existsSync(ANALYZE), `${ANALYZE} is missing: install systemd (Debian: apt-get install systemd) to check the unit`);
  const unit = readFileSync(join(ROOT, 'docs/kitsune.service'), 'utf8');
  t.regex(unit, /^ExecStart=\/usr\/bin\/node \/opt\/kitsune\/bin\/kitsune\.js /m, 'the unit runs the bin through node from /opt/kitsune');
  t.regex(unit, /^StateDirectory=kitsune$/m);
  t.regex(unit, /^User=kitsune$/m);
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const copy = join(dir, 'kitsune.service');
  writeFileSync(copy, unit.replaceAll('/opt/kitsune', ROOT).replace('/usr/bin/node ', `${process.execPath} `));
  const run = promisify(execFile);
  const out = await run(ANALYZE, ['verify', copy], { cwd: dir, timeout: 50_000 }).catch((err: { code?: number; stdout?: string; stderr?: string }) => err);
  const said = `${out.stdout ?? ''}${out.stderr ?? ''}`.trim();
  t.is('code' in out ? out.code : 0, 0, said);
  t.is(said, '', 'no warnings');
});
