// The dashboard page: joins the realm over WAMP (anonymously, or with a ticket from the form),
// follows sessions, subscriptions and registrations through the meta API, and polls
// kitsune.stats.get every second for the counters, queues, locks and the message-rate chart.
// What the realm's permissions refuse the page's role is shown as such, panel by panel.

import { RateChart } from './chart.js';
import { LiveCollection, REGISTRATIONS, SESSIONS, SUBSCRIPTIONS } from './live-collection.js';
import { describeError, fillTable, formatBytes, formatDuration, formatNumber, MAX_ROWS, setNotice, setText } from './tables.js';
import { connect, WampError } from './wamp-client.js';

const STATS_INTERVAL_MS = 1_000;
const RECONNECT_MS = 2_000;

const SERIES = [
  { key: ['wamp', 'messagesIn'], name: 'WAMP in', color: '#1c7ed6' },
  { key: ['wamp', 'messagesOut'], name: 'WAMP out', color: '#74c0fc' },
  { key: ['mqtt', 'messagesIn'], name: 'MQTT in', color: '#e8590c' },
  { key: ['mqtt', 'messagesOut'], name: 'MQTT out', color: '#ffa94d' },
];

const COUNTERS = [
  ['droppedEvents', 'dropped (slow consumers)'],
  ['slowConsumersDisconnected', 'slow consumers closed'],
  ['protocolErrors', 'protocol errors'],
  ['limitRefusals', 'limit refusals'],
  ['droppedQueued', 'dropped from queues'],
  ['storeFailures', 'store failures'],
];

const state = {
  generation: 0,
  session: null,
  credentials: {},
  realm: '',
  stats: null,
  statsError: null,
  previous: null,
  rates: SERIES.map(() => 0),
  bytesRate: 0,
  statsTimer: null,
  retryTimer: null,
  renderTimer: null,
};

const chart = new RateChart(document.getElementById('rate-chart'), SERIES);
const collections = {
  sessions: new LiveCollection(SESSIONS, scheduleRender),
  subscriptions: new LiveCollection(SUBSCRIPTIONS, scheduleRender),
  registrations: new LiveCollection(REGISTRATIONS, scheduleRender),
};

function setStatus(kind, text) {
  const el = document.getElementById('status');
  el.dataset.state = kind;
  el.textContent = text;
}

/** Coalesces bursts of meta events into one redraw. */
function scheduleRender() {
  if (state.renderTimer !== null) return;
  state.renderTimer = setTimeout(() => {
    state.renderTimer = null;
    render();
  }, 100);
}

function countOf(collection, fromStats) {
  if (collection.live) return collection.items.size;
  return fromStats ?? null;
}

function shownLabel(size) {
  return size > MAX_ROWS ? `newest ${MAX_ROWS} of ${formatNumber(size)}` : '';
}

function renderCollections() {
  const { sessions, subscriptions, registrations } = collections;
  const s = state.stats;
  setText('sessions-count', formatNumber(countOf(sessions, s?.sessions)));
  setText('subscriptions-count', formatNumber(countOf(subscriptions, s?.subscriptions)));
  setText('registrations-count', formatNumber(countOf(registrations, s?.registrations)));
  for (const [name, c] of Object.entries(collections)) {
    setNotice(`${name}-notice`, c.error ? describeError(c.error) : null);
    setText(`${name}-shown`, shownLabel(c.items.size));
  }
  const pending = '…';
  fillTable(
    'sessions-table',
    sessions.newest().map(([id, { details: d }]) => [id, d?.authid ?? pending, d?.authrole ?? '', d?.transport?.protocol ?? '', d?.transport?.peer ?? '']),
    sessions.error ? '–' : 'none',
  );
  fillTable('subscriptions-table', subscriptions.newest().map(([id, { details: d, count }]) => [d?.uri ?? `#${id}`, d?.match ?? '', count ?? pending]), subscriptions.error ? '–' : 'none');
  fillTable('registrations-table', registrations.newest().map(([id, { details: d, count }]) => [d?.uri ?? `#${id}`, d?.match ?? '', d?.invoke ?? '', count ?? pending]), registrations.error ? '–' : 'none');
}

function renderStats() {
  const s = state.stats;
  setNotice('stats-notice', state.statsError ? describeError(state.statsError) : null);
  setNotice('queues-notice', state.statsError ? describeError(state.statsError) : s && s.queues === null ? 'no queue store on this router' : null);
  const protocols = s ? Object.entries(s.sessionsByProtocol ?? {}).filter(([, n]) => n > 0).map(([p, n]) => `${p} ${formatNumber(n)}`).join(' · ') : '';
  setText('sessions-protocols', protocols);
  setText('rate-total', s ? formatNumber(state.rates.reduce((a, b) => a + b, 0)) : '–');
  setText('rate-bytes', s ? `${formatBytes(state.bytesRate)}/s` : '');
  setText('retained-count', formatNumber(s?.retained));
  setText('locks-held', formatNumber(s?.locks?.held));
  setText('locks-waiting', s ? `${formatNumber(s.locks?.waiting)} waiting` : '');
  const q = s?.queues;
  setText('queues-count', formatNumber(q?.count));
  setText('queues-items', q ? `${formatNumber(q.ready)} ready · ${formatNumber(q.unacked)} unacked` : '');
  setText('queues-shown', q && q.count > q.deepest.length ? `deepest ${q.deepest.length} of ${formatNumber(q.count)}` : '');
  fillTable('queues-table', (q?.deepest ?? []).map((r) => [r.queue, r.ready, r.unacked, r.locked ? 'locked' : r.max ? `max ${r.max}` : '']), state.statsError ? '–' : 'none');
  if (s) {
    setText('nodes-count', s.nodes ? formatNumber(s.nodes.length) : '1');
    setText('node-detail', `${s.nodes ? 'Redis cluster' : 'single node'} · up ${formatDuration(s.node.uptimeSec)} · ${formatBytes(s.node.rssBytes)}`);
  } else {
    setText('nodes-count', '–');
    setText('node-detail', '');
  }
  const legend = document.getElementById('chart-legend');
  if (legend.childElementCount === 0) {
    for (const series of SERIES) {
      const item = document.createElement('span');
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = series.color;
      const rate = document.createElement('span');
      rate.className = 'rate';
      item.append(swatch, series.name, rate);
      legend.append(item);
    }
  }
  [...legend.querySelectorAll('.rate')].forEach((el, i) => (el.textContent = s ? `${formatNumber(state.rates[i])}/s` : ''));
  const counters = document.getElementById('counters');
  counters.replaceChildren(
    ...COUNTERS.flatMap(([key, label]) => {
      const dt = document.createElement('dt');
      dt.textContent = label;
      const dd = document.createElement('dd');
      dd.textContent = formatNumber(s?.router?.[key]);
      return [dt, dd];
    }),
  );
}

function render() {
  renderCollections();
  renderStats();
}

function traffic(stats, [protocol, field]) {
  return stats?.router?.traffic?.[protocol]?.[field] ?? 0;
}

async function pollStats(session, generation) {
  try {
    const [stats] = await session.call('kitsune.stats.get');
    if (generation !== state.generation) return;
    const prev = state.previous;
    if (prev) {
      const dt = Math.max(0.001, (stats.time - prev.time) / 1000);
      // a counter that went down (a restarted router) starts over rather than showing a negative rate
      const rate = (now, before) => Math.max(0, now - before) / dt;
      state.rates = SERIES.map((series) => rate(traffic(stats, series.key), traffic(prev, series.key)));
      const bytes = (st) => ['wamp', 'mqtt'].reduce((sum, p) => sum + traffic(st, [p, 'bytesIn']) + traffic(st, [p, 'bytesOut']), 0);
      state.bytesRate = rate(bytes(stats), bytes(prev));
      chart.push(state.rates);
    }
    state.previous = stats;
    state.stats = stats;
    state.statsError = null;
  } catch (err) {
    if (generation !== state.generation) return;
    state.stats = null;
    state.statsError = err;
  }
  render();
}

function stop() {
  state.generation++;
  clearInterval(state.statsTimer);
  clearTimeout(state.retryTimer);
  for (const c of Object.values(collections)) c.stop();
  const session = state.session;
  state.session = null;
  if (session) {
    session.onclose = null;
    session.close();
  }
}

async function start() {
  stop();
  const generation = state.generation;
  state.stats = null;
  state.previous = null;
  state.statsError = null;
  const { authid, ticket } = state.credentials;
  setStatus('connecting', `connecting to realm ${state.realm}…`);
  const url = new URL('ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  let session;
  try {
    session = await connect({ url: url.href, realm: state.realm, authid, ticket });
  } catch (err) {
    if (generation !== state.generation) return;
    if (err instanceof WampError) {
      // refused (realm, credentials): retrying would not help; the form is there to change them
      setStatus('refused', `refused by the router: ${err.message}`);
      return;
    }
    setStatus('disconnected', `${err.message}; retrying…`);
    state.retryTimer = setTimeout(start, RECONNECT_MS);
    return;
  }
  if (generation !== state.generation) {
    session.close();
    return;
  }
  state.session = session;
  session.onclose = (reason) => {
    if (generation !== state.generation) return;
    setStatus('disconnected', `disconnected (${reason}); reconnecting…`);
    state.retryTimer = setTimeout(start, RECONNECT_MS);
  };
  const who = `${session.details.authid ?? '?'} (${session.details.authrole ?? '?'})`;
  setStatus('connected', `connected to realm ${state.realm} as ${who}, session ${session.id}`);
  state.statsTimer = setInterval(() => void pollStats(session, generation), STATS_INTERVAL_MS);
  await Promise.all([pollStats(session, generation), ...Object.values(collections).map((c) => c.start(session))]);
}

async function main() {
  const params = new URLSearchParams(location.search);
  let realm = params.get('realm');
  if (!realm) {
    try {
      realm = (await (await fetch('config.json')).json()).realm;
    } catch {
      realm = 'realm1';
    }
  }
  state.realm = realm;
  const form = document.getElementById('login');
  form.realm.value = realm;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    state.realm = form.realm.value.trim() || state.realm;
    const authid = form.authid.value.trim();
    const ticket = form.ticket.value;
    state.credentials = authid && ticket ? { authid, ticket } : authid ? { authid } : {};
    void start();
  });
  window.addEventListener('resize', () => chart.draw());
  render();
  await start();
}

void main();
