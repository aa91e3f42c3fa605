// What the router keeps after a batch, read from its /metrics: tells legitimate state (sessions,
// retained values) from a leak when RSS grows across batches.
const GAUGES: Record<string, string> = {
  kitsune_sessions: 'sessions',
  kitsune_subscriptions: 'subscriptions',
  kitsune_retained: 'retained',
  kitsune_process_nodejs_heap_size_used_bytes: 'heap used',
};

/** e.g. `sessions 501, subscriptions 37, retained 876, heap used 57 MiB`; '' when /metrics does not answer. */
export async function routerState(httpUrl: string): Promise<string> {
  let text: string;
  try {
    text = await (await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  } catch {
    return '';
  }
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(kitsune_[a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    const name = m && GAUGES[m[1]!];
    if (name) sums.set(name, (sums.get(name) ?? 0) + Number(m[2]));
  }
  return [...sums].map(([name, v]) => (name === 'heap used' ? `${name} ${Math.round(v / 2 ** 20)} MiB` : `${name} ${v}`)).join(', ');
}
