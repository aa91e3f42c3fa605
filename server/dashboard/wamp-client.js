// A small WAMP v2 client for the dashboard: JSON over WebSocket (subprotocol wamp.2.json), the
// caller and subscriber roles, anonymous or ticket authentication. Just what the page needs, so the
// dashboard loads nothing from elsewhere and needs no build step.

const HELLO = 1;
const WELCOME = 2;
const ABORT = 3;
const CHALLENGE = 4;
const AUTHENTICATE = 5;
const GOODBYE = 6;
const ERROR = 8;
const SUBSCRIBE = 32;
const SUBSCRIBED = 33;
const EVENT = 36;
const CALL = 48;
const RESULT = 50;

/** A WAMP error (ABORT, or ERROR answering a request): `uri` says which, e.g. wamp.error.not_authorized. */
export class WampError extends Error {
  constructor(uri, args) {
    super(typeof args?.[0] === 'string' ? `${uri}: ${args[0]}` : uri);
    this.uri = uri;
  }
}

class WampSession {
  constructor(ws, welcome) {
    this.ws = ws;
    this.id = welcome[1];
    this.details = welcome[2] ?? {};
    this.nextRequest = 1;
    this.pending = new Map();
    this.handlers = new Map();
    /** Called once when the connection ends, with the reason. */
    this.onclose = null;
    ws.onmessage = (e) => this.receive(e.data);
    ws.onclose = (e) => this.closed(e.reason || `connection closed (${e.code})`);
  }

  request(message) {
    const id = this.nextRequest++;
    message.splice(1, 0, id);
    return new Promise((resolve, reject) => {
      if (this.ws.readyState !== WebSocket.OPEN) {
        reject(new WampError('wamp.error.canceled', ['not connected']));
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify(message));
    });
  }

  /** Resolves to the result's positional arguments. */
  call(procedure, args = [], kwargs = {}) {
    return this.request([CALL, {}, procedure, args, kwargs]);
  }

  /** Resolves once subscribed; `handler(args, kwargs)` gets every event. */
  async subscribe(topic, handler, options = {}) {
    const id = await this.request([SUBSCRIBE, options, topic]);
    const list = this.handlers.get(id) ?? [];
    list.push(handler);
    this.handlers.set(id, list);
    return id;
  }

  close() {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify([GOODBYE, {}, 'wamp.close.normal']));
    this.ws.close();
  }

  receive(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      this.ws.close(1002, 'not JSON');
      return;
    }
    if (!Array.isArray(msg)) return;
    const settle = (ok, value) => {
      const p = this.pending.get(msg[msg[0] === ERROR ? 2 : 1]);
      if (!p) return;
      this.pending.delete(msg[msg[0] === ERROR ? 2 : 1]);
      if (ok) p.resolve(value);
      else p.reject(value);
    };
    switch (msg[0]) {
      case RESULT:
        settle(true, msg[3] ?? []);
        break;
      case SUBSCRIBED:
        settle(true, msg[2]);
        break;
      case ERROR:
        settle(false, new WampError(msg[4], msg[5]));
        break;
      case EVENT:
        for (const h of this.handlers.get(msg[1]) ?? []) {
          try {
            h(msg[4] ?? [], msg[5] ?? {});
          } catch (err) {
            console.error('event handler failed', err);
          }
        }
        break;
      case GOODBYE:
        this.ws.send(JSON.stringify([GOODBYE, {}, 'wamp.close.goodbye_and_out']));
        this.ws.close();
        break;
      default:
        break;
    }
  }

  closed(reason) {
    for (const p of this.pending.values()) p.reject(new WampError('wamp.error.canceled', [reason]));
    this.pending.clear();
    const cb = this.onclose;
    this.onclose = null;
    cb?.(reason);
  }
}

/**
 * Opens a session on `realm` at the WebSocket `url`. With `authid` and `ticket` it authenticates by
 * ticket, else anonymously. Rejects with a WampError on ABORT, or an Error if the socket fails.
 */
export function connect({ url, realm, authid, ticket }) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['wamp.2.json']);
    let done = false;
    const fail = (err) => {
      if (done) return;
      done = true;
      reject(err);
      ws.close();
    };
    ws.onerror = () => fail(new Error(`cannot connect to ${url}`));
    ws.onclose = (e) => fail(new Error(e.reason || `connection closed (${e.code})`));
    ws.onopen = () => {
      const details = { roles: { caller: {}, subscriber: {} }, authmethods: ticket ? ['ticket'] : ['anonymous'], agent: 'kitsune-dashboard' };
      if (authid) details.authid = authid;
      ws.send(JSON.stringify([HELLO, realm, details]));
    };
    ws.onmessage = (e) => {
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        fail(new Error('the router sent something that is not JSON'));
        return;
      }
      if (!Array.isArray(msg)) return;
      if (msg[0] === CHALLENGE && msg[1] === 'ticket' && ticket) {
        ws.send(JSON.stringify([AUTHENTICATE, ticket, {}]));
      } else if (msg[0] === WELCOME) {
        done = true;
        resolve(new WampSession(ws, msg));
      } else if (msg[0] === ABORT) {
        fail(new WampError(msg[2], [msg[1]?.message ?? '']));
      } else {
        fail(new Error(`unexpected message ${msg[0]} during the handshake`));
      }
    };
  });
}
