// DOM helpers: numbers, tables and notices. Every value a client controls (authids, topics,
// procedure names, queue names) is written as text, never parsed as HTML.

/** Rows shown per table; the heading says how many there are in all. */
export const MAX_ROWS = 100;

export function setText(id, value) {
  const el = document.getElementById(id);
  if (el && el.textContent !== String(value)) el.textContent = String(value);
}

export function formatNumber(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  return Math.round(n).toLocaleString('en');
}

export function formatBytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

export function formatDuration(sec) {
  const d = Math.floor(sec / 86400);
  const h = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = Math.floor(sec % 60);
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}

/** Fills the table body `id` with `rows` (arrays of cell values), at most MAX_ROWS of them. */
export function fillTable(id, rows, empty = 'none') {
  const body = document.getElementById(id);
  if (!body) return;
  const fragment = document.createDocumentFragment();
  for (const row of rows.slice(0, MAX_ROWS)) {
    const tr = document.createElement('tr');
    for (const cell of row) {
      const td = document.createElement('td');
      td.textContent = cell === undefined || cell === null ? '' : String(cell);
      if (typeof cell === 'number') td.className = 'num';
      tr.append(td);
    }
    fragment.append(tr);
  }
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = body.parentElement?.querySelectorAll('th').length || 1;
    td.className = 'empty';
    td.textContent = empty;
    tr.append(td);
    fragment.append(tr);
  }
  body.replaceChildren(fragment);
}

/** Shows (or with null, hides) the notice of a panel, e.g. "not permitted". */
export function setNotice(id, text) {
  const el = document.getElementById(id);
  if (!el) return;
  el.hidden = text === null;
  el.textContent = text ?? '';
}

/** What to tell the user about a failed call or subscription. */
export function describeError(err) {
  const uri = err?.uri;
  if (uri === 'wamp.error.not_authorized') return 'not permitted for this role (wamp.error.not_authorized) – log in with a role that may call the meta API';
  if (uri === 'wamp.error.no_such_procedure') return `not available on this router (${uri})`;
  return String(err?.message ?? err);
}
