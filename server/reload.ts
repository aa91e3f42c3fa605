// SIGHUP: re-read the configuration from the same file, variables and flags. Realms, roles and
// principals change live; any other difference is logged as waiting for a restart. A file that
// does not pass the checks changes nothing: the running configuration stays and the log says why.
import type { Logger } from '../lib/core/log.ts';
import { ConfigError, type ServerConfig } from './config.ts';
import type { RunningServer } from './server.ts';

/** Top-level keys whose change needs a restart (listeners, store, gates and bridges are built once). */
function restartKeys(running: ServerConfig, next: ServerConfig): string[] {
  const keys = new Set([...Object.keys(running), ...Object.keys(next)]);
  keys.delete('router');
  const changed = [...keys].filter((k) => JSON.stringify(running[k as keyof ServerConfig]) !== JSON.stringify(next[k as keyof ServerConfig]));
  if (JSON.stringify(running.router.limits) !== JSON.stringify(next.router.limits)) changed.push('limits');
  if (running.router.autoCreateRealms !== next.router.autoCreateRealms) changed.push('autoCreateRealms');
  const historyOf = (cfg: ServerConfig) => JSON.stringify(cfg.router.realms.map((r) => [r.name, r.history]));
  if (historyOf(running) !== historyOf(next)) changed.push('realms[].history');
  return changed;
}

/** Returns the configuration now in force (the running one when the reload is refused). */
export function reloadConfig(server: RunningServer, running: ServerConfig, load: () => ServerConfig, file: string | undefined, logger: Logger): ServerConfig {
  let next: ServerConfig;
  try {
    next = load();
  } catch (err) {
    const problems = err instanceof ConfigError ? err.problems : [String(err)];
    logger.error({ event: 'config.reload', file, ok: false, problems }, 'configuration reload refused: the running configuration stays');
    return running;
  }
  const { added, updated, kept } = server.router.reconfigure(next.router.realms);
  const needsRestart = restartKeys(running, next);
  logger.info({ event: 'config.reload', file, ok: true, added, updated, kept, needsRestart }, 'configuration reloaded: realms, roles and principals applied');
  return { ...running, router: { ...running.router, realms: next.router.realms } };
}
