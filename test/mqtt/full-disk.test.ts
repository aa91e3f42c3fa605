// A full disk (a real SQLITE_FULL: the SQLite data directory on a small tmpfs, filled up) under an
// MQTT 3.1.1 QoS 1 publish whose message must be queued for an offline persistent session: the
// router survives, the publisher is disconnected without a PUBACK (3.1.1 has no negative one), a
// bystander keeps being served, and once space is back the same publish is acknowledged.
// Needs root for `mount -t tmpfs` (the test machines run as root).
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import test from 'ava';
import pino from 'pino';
import { createRouter, openRealm } from '../../lib/index.ts';
import { createMqttGate } from '../../lib/mqtt/index.ts';
import { openStore } from '../../lib/store/open.ts';
import { collect, connect, RawClient, uniqueId } from '../helpers/mqtt-harness.ts';

/** Writes zeros into `path` until the file system says ENOSPC. */
function fillDisk(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

test('SQLITE_FULL under a 3.1.1 QoS 1 publish: publisher closed unacknowledged, router and bystander fine, recovers with space', async (t) => {
  t.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'kitsune-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir]);
  t.teardown(() => {
    execFileSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  const errors: string[] = [];
  const logger = pino({ level: 'warn' }, new Writable({ write: (c: Buffer, _e, done) => (errors.push(c.toString()), done()) }));
  const store = await openStore({ dataDir: dir });
  const router = createRouter({ realms: [openRealm('realm1')] }, { store, logger });
  await router.open();
  const gate = createMqttGate(router, { logger });
  await gate.ready;
  const server = net.createServer((s) => gate.handleSocket(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const url = `mqtt://127.0.0.1:${port}`;
  t.teardown(async () => {
    await gate.close();
    router.close();
    await new Promise<void>((r) => server.close(() => r()));
    await store.close().catch(() => {});
  });

  const topic = `full/${uniqueId()}`;
  const offline = uniqueId('offline');
  const sub = await connect(url, { clientId: offline, clean: false, protocolVersion: 4 });
  await sub.subscribeAsync(topic, { qos: 1 });
  await sub.endAsync();
  const bystander = await connect(url, { protocolVersion: 5 });
  const seen = collect(bystander);
  const bystanderTopic = `bystander/${uniqueId()}`;
  await bystander.subscribeAsync(bystanderTopic, { qos: 1 });

  const filler = join(dir, 'filler');
  fillDisk(filler);
  const payload = Buffer.alloc(512 * 1024, 0x61);
  const publisher = await RawClient.connected(port, 4);
  publisher.send({ cmd: 'publish', topic, payload, qos: 1, messageId: 1, retain: false, dup: false }, 4);
  await publisher.waitClosed(20_000);
  t.false(publisher.packets.some((p) => p.cmd === 'puback'), 'not acknowledged');
  t.true(router.stats.storeFailures >= 1);
  t.true(errors.some((l) => /SQLITE_FULL|full/i.test(l)), 'the failure is logged');

  const other = await connect(url);
  await other.publishAsync(bystanderTopic, 'still here', { qos: 1 });
  await other.endAsync();
  await seen.waitFor(1);

  rmSync(filler);
  const again = await RawClient.connected(port, 4);
  again.send({ cmd: 'publish', topic, payload: Buffer.from('after'), qos: 1, messageId: 2, retain: false, dup: false }, 4);
  await again.next('puback', 10_000);
  again.close();
  await bystander.endAsync();
  t.pass();
});
