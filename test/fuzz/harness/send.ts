// Delivers fuzz cases: each case is the bytes one fresh TCP connection writes (chunk by chunk, then
// FIN). Connections run `concurrency` at a time; a connection the router keeps open (a long poll, a
// half-read frame) is cut after `lingerMs`, which also exercises the router's abort paths.
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
  /** Connections we cut after lingerMs. */
  cut: number;
  /** Connections refused or failed before the case was written (a dying or saturated router). */
  failedToConnect: number;
}

export async function sendCases(cases: readonly Buffer[][], opts: SendOptions): Promise<SendStats> {
  const stats: SendStats = { closedByRouter: 0, cut: 0, failedToConnect: 0 };
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
    socket.on('data', () => {});
    socket.once('close', () => done(connected ? 'closedByRouter' : 'failedToConnect'));
    socket.once('connect', () => {
      connected = true;
      timer = setTimeout(() => done('cut'), lingerMs);
      void writeAll(socket, chunks).then(() => socket.end());
    });
  });
}

async function writeAll(socket: net.Socket, chunks: Buffer[]): Promise<void> {
  for (const chunk of chunks) {
    if (socket.destroyed) return;
    await new Promise<void>((resolve) => socket.write(chunk, () => resolve()));
  }
}
