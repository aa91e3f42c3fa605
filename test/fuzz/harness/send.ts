// Delivers fuzz cases: each case is the bytes one fresh TCP connection writes (chunk by chunk, then
// FIN). Connections run `concurrency` at a time and we never wait for the router's close (it may take
// >100 ms after our FIN under load): a connection is cut `lingerMs` after its last byte is written,
// which also exercises the router's abort paths (long polls, half-read frames). The bytes went out
// before our FIN, so the router still reads the whole case; only its late answers meet a closed socket.
import net from 'node:net';

export interface SendOptions {
  host: string;
  port: number;
  concurrency: number;
  lingerMs: number;
}

export interface SendStats {
  /** Connections the router closed (or reset) by itself. */
  closedByRouter: number;
  /** Connections we cut lingerMs after writing the case. */
  cut: number;
  /** Connections cut before the whole case was written: the router stopped reading for STALL_MS. */
  stalled: number;
  /** Connections refused or failed before the case was written (a dying or saturated router). */
  failedToConnect: number;
}

/** A router that does not read a case within this long has stopped reading it (it may, at its limits). */
const STALL_MS = 5_000;

export async function sendCases(cases: readonly Buffer[][], opts: SendOptions): Promise<SendStats> {
  const stats: SendStats = { closedByRouter: 0, cut: 0, stalled: 0, failedToConnect: 0 };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const chunks = cases[next++] as Buffer[];
      stats[await sendOne(chunks, opts)]++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, cases.length) }, worker));
  return stats;
}

function sendOne(chunks: Buffer[], { host, port, lingerMs }: SendOptions): Promise<keyof SendStats> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, noDelay: true });
    let connected = false;
    let timer: NodeJS.Timeout | undefined;
    const done = (how: keyof SendStats): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(how);
    };
    socket.on('error', () => {});
    // Read (and drop) the answers, so that cutting the connection sends a FIN, not a reset that
    // could make the router drop input it has not read yet.
    socket.on('data', () => {});
    socket.once('close', () => done(connected ? 'closedByRouter' : 'failedToConnect'));
    socket.once('connect', () => {
      connected = true;
      timer = setTimeout(() => done('stalled'), STALL_MS);
      void writeAll(socket, chunks).then(() =>
        socket.end(() => {
          clearTimeout(timer);
          timer = setTimeout(() => done('cut'), lingerMs);
        }),
      );
    });
  });
}

async function writeAll(socket: net.Socket, chunks: Buffer[]): Promise<void> {
  for (const chunk of chunks) {
    if (socket.destroyed) return;
    await new Promise<void>((resolve) => socket.write(chunk, () => resolve()));
  }
}
