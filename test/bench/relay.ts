// The transport ceiling for the WAMP benchmark: a server that forwards frames unchanged, doing no
// routing work (no decoding, no lookup, no re-encoding). Run as a child process:
//
//   node --import tsx test/bench/relay.ts [--host 127.0.0.1] [--port 0]
//
// It prints one JSON line {"event":"listening","wamp":"ws://...","rawsocket":"tcp://..."}.
//
// A connection joins a room with a role. WebSocket: /ws?role=R&room=X (any WAMP subprotocol);
// RawSocket: after the handshake, the first frame is the text "R:X". Roles:
//   pub     its frames go to every `sub` of the room
//   sub     receives only
//   caller  its frames go to the room's `callee`
//   callee  its frames go to the room's `caller`
// The WebSocket side uses kitsune's handshake, frame reader and framing, and like kitsune frames a
// small message once for all its receivers (webSocketFrame) and writes that frame to each socket; the
// RawSocket side parses frame headers only to find message boundaries and writes each frame
// (header included) as received.
// Both batch the writes of one tick per socket with kitsune's WriteBatch: without it every frame is
// its own write and the "ceiling" would sit far below kitsune in fan-out.
import http from 'node:http';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { FRAME_BELOW, Opcode, webSocketFrame, webSocketHeader } from '../../lib/transport/websocket-frame.ts';
import { acceptUpgrade, refuseUpgrade, upgradeRefusal } from '../../lib/transport/websocket-handshake.ts';
import { WebSocketReader } from '../../lib/transport/websocket-reader.ts';
import { WriteBatch } from '../../lib/transport/write-batch.ts';


type Role = 'pub' | 'sub' | 'caller' | 'callee';

interface Peer {
  /** `framed`: the message already in a frame of this transport, if it is small (WebSocket). */
  forward(message: Buffer, framed: Buffer | undefined): void;
}

interface Room {
  pub: Peer[];
  sub: Peer[];
  caller: Peer[];
  callee: Peer[];
}

const rooms = new Map<string, Room>();

function room(name: string): Room {
  let r = rooms.get(name);
  if (!r) {
    r = { pub: [], sub: [], caller: [], callee: [] };
    rooms.set(name, r);
  }
  return r;
}

function join(name: string, role: Role, peer: Peer): () => void {
  const r = room(name);
  r[role].push(peer);
  return () => {
    const list = r[role];
    const i = list.indexOf(peer);
    if (i >= 0) list.splice(i, 1);
    if (r.pub.length + r.sub.length + r.caller.length + r.callee.length === 0) rooms.delete(name);
  };
}

/** Where the frames of a connection with this role go. */
function targets(r: Room, role: Role): Peer[] {
  switch (role) {
    case 'pub':
      return r.sub;
    case 'caller':
      return r.callee;
    case 'callee':
      return r.caller;
    default:
      return [];
  }
}

function isRole(s: string | null | undefined): s is Role {
  return s === 'pub' || s === 'sub' || s === 'caller' || s === 'callee';
}

// --- WebSocket ---

const SUBPROTOCOLS = ['wamp.2.json', 'wamp.2.msgpack', 'wamp.2.cbor'];

function startWebSocket(host: string, port: number): Promise<number> {
  const server = http.createServer((_req, res) => {
    res.writeHead(404);
    res.end();
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    socket.on('error', () => {});
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const role = q.get('role');
    const name = q.get('room') ?? '';
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const subprotocol = offered.find((p) => SUBPROTOCOLS.includes(p));
    const refusal = upgradeRefusal(req);
    if (refusal || !subprotocol || !isRole(role)) return refuseUpgrade(socket, refusal ?? { status: '400 Bad Request', message: 'role? subprotocol?\n' });
    acceptUpgrade(req, socket, subprotocol);
    socket.setNoDelay(true);
    const opcode = subprotocol === 'wamp.2.json' ? Opcode.text : Opcode.binary;
    const out = new WriteBatch(socket);
    const peer: Peer = {
      forward: (message, framed) => {
        if (framed) out.write(framed);
        else {
          out.write(webSocketHeader(opcode, message.length));
          out.write(message);
        }
      },
    };
    const leave = join(name, role, peer);
    const r = room(name);
    const end = (): void => void socket.end();
    // Receivers of a room share the sender's subprotocol, hence its opcode.
    const reader = new WebSocketReader({ maxMessageBytes: 16 * 1024 * 1024 }, {
      onMessage: (data) => {
        const to = targets(r, role);
        const framed = data.length < FRAME_BELOW && to.length > 0 ? webSocketFrame(opcode, data) : undefined;
        for (let i = 0; i < to.length; i++) (to[i] as Peer).forward(data, framed);
      },
      onPing: (data) => out.write(webSocketFrame(Opcode.pong, data)),
      onPong: () => {},
      onClose: end,
      onError: end,
    });
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('end', end);
    socket.on('close', leave);
    reader.push(head);
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve((server.address() as net.AddressInfo).port)));
}

// --- RawSocket ---

function startRawSocket(host: string, port: number): Promise<number> {
  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => {});
    let handshaken = false;
    let pending: Buffer | undefined;
    let role: Role | undefined;
    let r: Room | undefined;
    let leave: (() => void) | undefined;
    const out = new WriteBatch(socket);
    const peer: Peer = {
      forward: (frame) => out.write(frame),
    };
    socket.on('close', () => leave?.());
    socket.on('data', (chunk: Buffer) => {
      let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = undefined;
      let off = 0;
      if (!handshaken) {
        if (buf.length < 4) {
          pending = buf;
          return;
        }
        if (buf[0] !== 0x7f) return void socket.destroy();
        socket.write(Buffer.from([0x7f, 0xf0 | ((buf[1] as number) & 0x0f), 0, 0]));
        handshaken = true;
        off = 4;
      }
      while (buf.length - off >= 4) {
        const len = buf.readUIntBE(off + 1, 3);
        const end = off + 4 + len;
        if (end > buf.length) break;
        if (role === undefined) {
          // first frame: "role:room"
          const text = buf.toString('utf8', off + 4, end);
          const colon = text.indexOf(':');
          const asked = text.slice(0, colon);
          if (!isRole(asked)) return void socket.destroy();
          role = asked;
          const name = text.slice(colon + 1);
          leave = join(name, role, peer);
          r = room(name);
          socket.write(buf.subarray(off, end)); // echoed: the client knows it is in the room
        } else {
          const frame = buf.subarray(off, end);
          const to = targets(r as Room, role);
          for (let i = 0; i < to.length; i++) (to[i] as Peer).forward(frame, undefined);
        }
        off = end;
      }
      if (off < buf.length) pending = Buffer.from(buf.subarray(off));
      buf = chunk; // let the concatenation go
    });
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve((server.address() as net.AddressInfo).port)));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { host: { type: 'string' }, port: { type: 'string' } } });
  const host = values.host ?? '127.0.0.1';
  const port = Number(values.port ?? 0);
  const wsPort = await startWebSocket(host, port);
  const rawPort = await startRawSocket(host, 0);
  process.stdout.write(JSON.stringify({ event: 'listening', wamp: `ws://${host}:${wsPort}/ws`, rawsocket: `tcp://${host}:${rawPort}` }) + '\n');
  const stop = (): void => process.exit(0);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`relay failed: ${String(err)}\n`);
  process.exit(1);
});
