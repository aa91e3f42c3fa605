// Per-role authorization on URI patterns. The most specific matching permission wins:
// exact, then the longest prefix, then the wildcard with the most fixed components.
import type { Action, PermissionConfig, RoleConfig } from './config.ts';
import { patternMatches, wampPattern } from './topic.ts';
import type { Pattern } from './types.ts';

interface CompiledPermission {
  pattern: Pattern;
  config: PermissionConfig;
  rank: number;
}

function rankOf(p: Pattern): number {
  if (p.match === 'exact') return 3_000_000;
  if (p.match === 'prefix') return 2_000_000 + p.uri.length;
  return 1_000_000 + p.levels.filter((l) => l !== null).length;
}

/** The role in-process clients get by default; every realm has it unless its config redefines it. */
export const TRUSTED_ROLE = 'trusted';

export function trustedRole(): RoleConfig {
  return { name: TRUSTED_ROLE, permissions: [{ uri: '', match: 'prefix', allow: { publish: true, subscribe: true, call: true, register: true, force: true } }] };
}

export class Role {
  private readonly perms: CompiledPermission[];

  constructor(readonly name: string, config: RoleConfig) {
    this.perms = config.permissions
      .map((c) => {
        const pattern = wampPattern(c.uri, c.match ?? 'exact');
        return { pattern, config: c, rank: rankOf(pattern) };
      })
      .sort((a, b) => b.rank - a.rank);
  }

  /** Answers per levels array: parsed URIs are shared (see wampLevels), so hot topics hit this. */
  private readonly cache = new WeakMap<readonly string[], PermissionConfig | null>();

  /** The permission governing `levels`, or undefined (deny). */
  lookup(levels: readonly string[]): PermissionConfig | undefined {
    const hit = this.cache.get(levels);
    if (hit !== undefined) return hit ?? undefined;
    let found: PermissionConfig | null = null;
    for (const p of this.perms) {
      if (patternMatches(p.pattern, levels, false)) {
        found = p.config;
        break;
      }
    }
    this.cache.set(levels, found);
    return found ?? undefined;
  }

  allows(action: Action, levels: readonly string[]): boolean {
    return this.lookup(levels)?.allow[action] === true;
  }
}
