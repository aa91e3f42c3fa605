// esub's Prometheus metrics (GET /metrics): the original's request histogram and connection gauges,
// plus counters for what kitsune adds (stored reps, redirects, pruned and rejected sockets).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type RouteLabel = 'info' | 'keys' | 'sub' | 'psub' | 'rep' | 'prep' | 'rsub' | 'cluster';

export interface GaugeSources {
  subs(): number;
  psubMembers(): number;
  preps(): number;
}

export class EsubMetrics {
  readonly registry = new Registry();
  private readonly requests: Histogram<'route' | 'method' | 'success' | 'auth' | 'confirmed'>;
  readonly stored: Counter;
  readonly redirected: Counter;
  readonly socketsClosed: Counter<'reason'>;

  constructor(prefix: string, sources: GaugeSources) {
    const registers = [this.registry];
    this.requests = new Histogram({
      name: `${prefix}_http_request`,
      help: 'Seconds from request start to its end (a sub includes its wait)',
      labelNames: ['route', 'method', 'success', 'auth', 'confirmed'],
      registers,
    });
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name: `${prefix}_${name}`,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    };
    gauge('sub_connected', 'Subs waiting', sources.subs);
    gauge('psub_connected', 'psub members across all pools', sources.psubMembers);
    gauge('prep_connected', 'prep sockets open', sources.preps);
    this.stored = new Counter({ name: `${prefix}_reps_stored_total`, help: 'Reps stored for /rsub', registers });
    this.redirected = new Counter({ name: `${prefix}_redirects_total`, help: 'psub messages redirected to another pool member after a failed delivery', registers });
    this.socketsClosed = new Counter({ name: `${prefix}_sockets_closed_total`, help: 'psub and prep sockets closed by the server, by reason', labelNames: ['reason'], registers });
  }

  observe(route: RouteLabel, method: string, started: number, success: boolean, auth: boolean, confirmed = false): void {
    const seconds = (performance.now() - started) / 1000;
    this.requests.observe({ route, method, success: String(success), auth: String(auth), confirmed: String(confirmed) }, seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
