// GET /prep over WebSocket (undocumented in esub's README): a producer socket. Each text message is
// a JSON object {"key", "token", "psub", "data"} (null fields are zero values), handled one at a
// time exactly like POST /rep. Receipt mode answers each with `ok` or the error text; keepalive
// mode answers nothing. A malformed message closes the socket with 1007 and a reason naming it
// (the original dropped the TCP connection); messages already received are still handled.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketServer, type MessageSocket, type WebSocketHandler, type WebSocketServer } from '../../lib/index.ts';
import type { Identity } from '../http/sessions.ts';
import { CloseCode } from './close-codes.ts';
import type { Deliverer, Outcome } from './deliver.ts';
import { keyProblem } from './keys.ts';
import type { EsubState } from './state.ts';

interface PrepMessage {
  key: string;
  token: string;
  psub: boolean;
  data: string;
}

/** Parses one message; a string names what is wrong with it. */
export function parsePrep(raw: Buffer): PrepMessage | string {
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    return 'not JSON';
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'not a JSON object';
  const o = v as Record<string, unknown>;
  const str = (name: string): string | undefined => {
    const x = o[name];
    return x === undefined || x === null ? '' : typeof x === 'string' ? x : undefined;
  };
  const key = str('key');
  const token = str('token');
  const data = str('data');
  const psub = o.psub === undefined || o.psub === null ? false : o.psub;
  if (key === undefined) return "'key' must be a string";
  if (token === undefined) return "'token' must be a string";
  if (data === undefined) return "'data' must be a string";
  if (typeof psub !== 'boolean') return "'psub' must be a boolean";
  return { key, token, psub, data };
}

const CLOSE_GRACE_MS = 2000;

export class PrepServer {
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<MessageSocket>();

  constructor(
    private readonly state: EsubState,
    private readonly deliverer: Deliverer,
  ) {
    // A JSON string may take up to 6 bytes per data byte (\u00XX escapes).
    const maxPayload = Math.min(state.opts.maxBodyBytes * 6 + 64 * 1024, 2 ** 31 - 1);
    this.wss = createWebSocketServer({
      limits: { maxMessageBytes: maxPayload, ...state.opts.websocket },
      subprotocol: () => undefined,
      accept: (ws, req) => this.serve(ws, req),
      onError: (err) => state.opts.logger.error({ err }, 'esub: prep handler failed'),
    });
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head);
  }

  private serve(ws: MessageSocket, req: IncomingMessage): WebSocketHandler {
    const state = this.state;
    // the socket's reps are calls made as its identity (found before the upgrade)
    const identity = state.upgrades.get(req) as Identity;
    if (state.closing) {
      queueMicrotask(() => ws.close(CloseCode.shutdown.code, CloseCode.shutdown.reason));
      return { onMessage() {}, onProtocolError() {}, onClose() {} };
    }
    this.sockets.add(ws);
    state.preps.add(ws);
    const queue: Buffer[] = [];
    let busy = false;
    let broken = false;
    const answer = (text: string): boolean => {
      if (!state.opts.confirmReceipt || !ws.isOpen) return false;
      ws.send(Buffer.from(text), false);
      return true;
    };
    const handle = async (raw: Buffer): Promise<void> => {
      const started = performance.now();
      const msg = parsePrep(raw);
      if (typeof msg === 'string') {
        broken = true;
        queue.length = 0;
        state.metrics.socketsClosed.inc({ reason: CloseCode.invalidMessage.reason });
        ws.close(CloseCode.invalidMessage.code, `${CloseCode.invalidMessage.reason}: ${msg}`);
        setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
        return;
      }
      const data = Buffer.from(msg.data, 'utf8');
      const problem = keyProblem(msg.key, state.opts.maxKeyBytes);
      let outcome: Outcome;
      if (problem) outcome = { status: 400, body: problem };
      else if (data.length > state.opts.maxBodyBytes) outcome = { status: 413, body: 'Body too large' };
      else outcome = await this.deliverer.deliver(msg.key, msg.token, msg.psub, data, { caller: state.sessions.client(identity) });
      const confirmed = answer(outcome.status === 200 ? 'ok' : outcome.body);
      state.metrics.observe('prep', 'GET', started, outcome.status === 200, msg.token !== '', confirmed);
    };
    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      while (queue.length > 0 && !broken) {
        try {
          await handle(queue.shift() as Buffer);
        } catch (err) {
          state.opts.logger.error({ err }, 'esub: prep message failed');
          answer('Internal error');
        }
        if (queue.length < 16 && ws.isPaused) ws.resume();
      }
      busy = false;
    };
    return {
      onMessage(raw) {
        if (broken) return;
        queue.push(Buffer.from(raw)); // a view into the socket's chunk: copied, as it waits its turn
        if (queue.length >= 64) ws.pause();
        void pump();
      },
      onProtocolError() {}, // the stack closes the socket itself (1007 bad UTF-8, 1009 too big)
      onClose: () => {
        this.sockets.delete(ws);
        state.preps.delete(ws);
      },
    };
  }

  get count(): number {
    return this.sockets.size;
  }

  close(): void {
    for (const ws of this.sockets) {
      ws.close(CloseCode.shutdown.code, CloseCode.shutdown.reason);
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
    }
    this.wss.close();
  }
}
