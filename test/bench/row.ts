// One line of the combined benchmark table, shared by every bench module (wamp, mqtt, store).
export interface BenchRow {
  /** Protocol path or subsystem: 'wamp', 'mqtt', 'store'... */
  group: string;
  /** What was measured, e.g. 'pubsub 1->100 websocket/json'. */
  scenario: string;
  /** What served it: 'kitsune', 'relay' (the transport ceiling), 'aedes'... */
  target: string;
  /** Throughput, in `unit`. */
  rate: number;
  /** e.g. 'msgs/s', 'deliveries/s', 'calls/s', 'ops/s'. */
  unit: string;
  /** Latency percentiles in milliseconds. */
  p50?: number;
  p99?: number;
  /** rate ÷ the reference target's rate for the same scenario (kitsune/relay, kitsune/aedes...). */
  ratio?: number;
  /** CPU time the server under test spent per unit (message, delivery, call), in microseconds. */
  cpuUs?: number;
  note?: string;
}

/** Percentile (0..100) of a sorted sample, by nearest rank; undefined when empty. */
export function percentile(sorted: Float64Array | number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

function fmtNum(n: number | undefined, digits: number): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  return n.toFixed(digits);
}

function fmtRate(n: number): string {
  if (!Number.isFinite(n)) return '-';
  return Math.round(n).toLocaleString('en-US');
}

/** Renders rows as an aligned text table. */
export function formatTable(rows: readonly BenchRow[]): string {
  const withCpu = rows.some((r) => r.cpuUs !== undefined);
  const head = ['group', 'scenario', 'target', 'rate', 'unit', 'p50 ms', 'p99 ms', 'ratio', ...(withCpu ? ['srv us/unit'] : []), 'note'];
  const body = rows.map((r) => [
    r.group,
    r.scenario,
    r.target,
    fmtRate(r.rate),
    r.unit,
    fmtNum(r.p50, 2),
    fmtNum(r.p99, 2),
    r.ratio === undefined ? '' : r.ratio.toFixed(2),
    ...(withCpu ? [fmtNum(r.cpuUs, 2)] : []),
    r.note ?? '',
  ]);
  const right = new Set([3, 5, 6, 7, ...(withCpu ? [8] : [])]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
