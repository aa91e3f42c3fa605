// A server child of the idle-memory benchmark (test/bench/idle-memory.ts), one of:
//   aedes  aedes 1.x, the reference broker, on a plain TCP listener
//   floor  the floor: a net server that answers the first MQTT packet with CONNACK and then only
//          holds the socket (no parsing, no session), i.e. what Node itself costs per connection
//
//   node --import tsx test/bench/idle-server.ts aedes|floor
//
// Prints {"event":"listening","port":N}; exits when stdin closes.
import net from 'node:net';

async function aedes(): Promise<net.Server> {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  return net.createServer(broker.handle);
}

function floor(): net.Server {
  const connack = Buffer.from([0x20, 2, 0, 0]);
  return net.createServer((socket) => {
    socket.once('data', () => socket.write(connack));
    socket.on('error', () => {});
  });
}

async function main(): Promise<void> {
  const which = process.argv[2];
  const server = which === 'aedes' ? await aedes() : which === 'floor' ? floor() : undefined;
  if (!server) throw new Error(`usage: idle-server.ts aedes|floor (got ${which})`);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ event: 'listening', port })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
