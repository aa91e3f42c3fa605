// MQTT keep alive across a stall of the router's event loop: a busy-wait longer than 1.5 × the keep
// alive must not drop a client that kept sending (its PINGREQs wait in the kernel until the loop
// turns again), and a client that really is silent is still dropped afterwards, its will published.
import test from 'ava';
import { collect, connect, RawClient, sleep, startKitsune, uniqueId } from '../helpers/mqtt-harness.ts';

/** Blocks this process's event loop (router and clients alike) for `ms`. */
function stall(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

test('a stall longer than the keep alive keeps a client that kept sending; a silent one is still dropped and its will fires', async (t) => {
  const k = await startKitsune();
  t.teardown(() => k.stop());
  const topic = `stall/${uniqueId()}`;
  const watcher = await connect(k.url, { keepalive: 0 });
  t.teardown(() => watcher.end(true));
  const got = collect(watcher);
  await watcher.subscribeAsync(topic, { qos: 0 });

  const live = await RawClient.connected(k.port, 4, { keepalive: 1 });
  t.teardown(() => live.close());
  const pinger = setInterval(() => live.send({ cmd: 'pingreq' }, 4), 200);
  t.teardown(() => clearInterval(pinger));
  const silent = await RawClient.connected(k.port, 4, { keepalive: 1, will: { topic, payload: Buffer.from('silent gone'), qos: 0, retain: false } });
  t.teardown(() => silent.close());

  stall(2500); // 1.5 s is the keep-alive limit

  await silent.waitClosed(6000);
  const [will] = await got.waitFor(1);
  t.is(will?.payload.toString(), 'silent gone');
  await sleep(2000); // more keep-alive checks after the stall
  t.false(live.isClosed, 'the client that kept sending was not dropped');
  const pongs = (): number => live.packets.filter((p) => p.cmd === 'pingresp').length;
  const before = pongs();
  await live.until(() => pongs() > before, 2000, 'a PINGRESP after the stall');
  t.true(pongs() > before, 'and is still answered');
});
