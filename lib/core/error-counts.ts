// ERRORs counted by URI for metrics. A callee chooses the URI of the errors it returns, so a client
// could otherwise grow the label set (and every scrape) without bound: the router's own URIs are
// always counted by name, the first MAX_OTHER_URIS other URIs too, and anything later as "other".
import { ErrorUri } from './errors.ts';
import type { ErrorCounts } from './types.ts';

/** Distinct URIs counted by name beyond the router's own. */
export const MAX_OTHER_URIS = 100;
/** The label of every URI past the cap. */
export const OTHER_URI = 'other';

const ROUTER_URIS: ReadonlySet<string> = new Set(Object.values(ErrorUri));

export class BoundedErrorCounts implements ErrorCounts {
  private readonly counts = new Map<string, number>();
  private others = 0;

  count(uri: string): void {
    const n = this.counts.get(uri);
    if (n !== undefined) {
      this.counts.set(uri, n + 1);
      return;
    }
    if (ROUTER_URIS.has(uri)) {
      this.counts.set(uri, 1);
    } else if (this.others < MAX_OTHER_URIS && uri !== OTHER_URI) {
      this.others++;
      this.counts.set(uri, 1);
    } else {
      this.counts.set(OTHER_URI, (this.counts.get(OTHER_URI) ?? 0) + 1);
    }
  }

  entries(): IterableIterator<[string, number]> {
    return this.counts.entries();
  }

  /** For readers that serialize the router's stats (the dashboard): `{uri: count}`. */
  toJSON(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
