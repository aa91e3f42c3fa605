// hustdb bridge options (the "hustdb" object of the config file), with their defaults.

export interface HustdbUser {
  password: string;
  /** A principal of the realm (ticket or wampcra): requests act with its role. */
  principal: string;
}

export interface HustdbOptions {
  /** Realm whose store and topics the bridge serves (default realm1). */
  realm: string;
  /**
   * The bridge's own Basic auth users (checked before the realm's principals, which may always log
   * in with their ticket); when set, requests without credentials are refused. Absent: requests
   * without credentials act with the realm's anonymous role.
   */
  auth?: Record<string, HustdbUser>;
  /** Largest value (query `val` or body), bytes; beyond it 413. Default 8 MiB. */
  maxValueBytes?: number;
  /** Memory the cache/* namespace may hold, bytes, least recently used evicted first. Default 64 MiB. */
  cacheMaxBytes?: number;
}

export interface ResolvedOptions {
  realm: string;
  auth?: Record<string, HustdbUser>;
  maxValueBytes: number;
  cacheMaxBytes: number;
}

export function resolveOptions(o: HustdbOptions): ResolvedOptions {
  return {
    realm: o.realm,
    auth: o.auth,
    maxValueBytes: o.maxValueBytes ?? 8 * 1024 * 1024,
    cacheMaxBytes: o.cacheMaxBytes ?? 64 * 1024 * 1024,
  };
}
