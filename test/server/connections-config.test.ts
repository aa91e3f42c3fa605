// The "connections" section of the configuration file: known keys only, checked types, defaults
// for what is missing.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { defaultConnectionSettings } from '../../server/admission.ts';
import { defaultConfig, readConfigFile } from '../../server/config.ts';

function configFile(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'kitsune-config-')), 'config.json');
  writeFileSync(path, JSON.stringify(content));
  return path;
}

test('the connections section is read key by key', (t) => {
  const cfg = readConfigFile(configFile({ connections: { maxConnections: 100, maxPerAddress: 10, exemptAddresses: ['10.0.0.1'], headersTimeoutMs: 5000 } }), defaultConfig());
  t.deepEqual(cfg.connections, { maxConnections: 100, maxPerAddress: 10, exemptAddresses: ['10.0.0.1'], headersTimeoutMs: 5000 });
});

test('unknown keys and bad values are refused with a message naming them', (t) => {
  t.throws(() => readConfigFile(configFile({ connections: { maxConnection: 1 } }), defaultConfig()), { message: /connections\.maxConnection: unknown key \(allowed: maxConnections, maxPerAddress, / });
  t.throws(() => readConfigFile(configFile({ connections: { maxPerAddress: 0 } }), defaultConfig()), { message: /connections\.maxPerAddress: 0 is not an integer >= 1/ });
  t.throws(() => readConfigFile(configFile({ connections: { exemptAddresses: '127.0.0.1' } }), defaultConfig()), { message: /connections\.exemptAddresses: "127\.0\.0\.1" is not a list/ });
  t.throws(() => readConfigFile(configFile({ connections: [] }), defaultConfig()), { message: /connections: \[\] is not an object/ });
});

test('defaults: slow HTTP clients closed within 30 s, loopback not exempt, room for the benchmarks', (t) => {
  const d = defaultConnectionSettings();
  t.true(d.headersTimeoutMs <= 30_000 - 1000, 'headers deadline plus one sweep stays under 30 s');
  t.deepEqual(d.exemptAddresses, []);
  t.true(d.maxPerAddress <= d.maxConnections);
  t.true(d.maxConnections >= 1);
});
