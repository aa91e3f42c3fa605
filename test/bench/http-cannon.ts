// One autocannon run against an HTTP bench server, with the server's CPU per answered request:
// shared by the hustmq and hustdb benches.
import { createRequire } from 'node:module';
import { processCpuSeconds } from './proc-cpu.ts';

interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
}
export interface CannonOptions {
  url: string;
  method?: string;
  body?: string;
  connections?: number;
  duration?: number;
  headers?: Record<string, string>;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (o: CannonOptions) => Promise<CannonResult>;

export interface Measured {
  rate: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** Server CPU (user + system) per answered request, µs. */
  cpuUs: number;
}

/** Runs autocannon; `pid` is the server child whose CPU is read from /proc before and after. */
export async function cannon(o: CannonOptions, pid?: number): Promise<Measured> {
  const c0 = processCpuSeconds(pid) ?? NaN;
  const r = await autocannon(o);
  const answered = r['2xx'] + r.non2xx;
  return {
    rate: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    cpuUs: answered > 0 ? (((processCpuSeconds(pid) ?? NaN) - c0) * 1e6) / answered : NaN,
  };
}

/** The best of several runs of one scenario (the machine may be busy with other work). */
export const best = (runs: Measured[]): Measured => runs.reduce((a, b) => (b.rate > a.rate ? b : a));
