// SIGHUP: re-read the configuration from the same file, variables and flags. Realms, roles and
// principals change live, and so do TLS certificates (re-read from their files, even when the
// configuration names the same ones: a renewed certificate replaces the old for new handshakes,
// open connections keep theirs); any other difference is logged as waiting for a restart. A file
// that does not pass the checks (an unreadable or bad certificate included) changes nothing: the
// running configuration stays and the log says why.
import type { Logger } from '../lib/core/log.ts';
import { ConfigError, type ServerConfig } from './config.ts';
import type { RunningServer } from './server.ts';

/** Top-level keys whose change needs a restart (listeners, store, gates and bridges are built once). */
function restartKeys(running: ServerConfig, next: ServerConfig): string[] {
  const keys = new Set([...Object.keys(running), ...Object.keys(next)]);
  keys.delete('router');
  keys.delete('tls');
  const changed = [...keys].filter((k) => JSON.stringify(running[k as keyof ServerConfig]) !== JSON.stringify(next[k as keyof ServerConfig]));
  if (JSON.stringify(tlsShape(running)) !== JSON.stringify(tlsShape(next))) changed.push('tls');
  if (JSON.stringify(running.router.limits) !== JSON.stringify(next.router.limits)) changed.push('limits');
  if (running.router.autoCreateRealms !== next.router.autoCreateRealms) changed.push('autoCreateRealms');
  const historyOf = (cfg: ServerConfig) => JSON.stringify(cfg.router.realms.map((r) => [r.name, r.history]));
  if (historyOf(running) !== historyOf(next)) changed.push('realms[].history');
  return changed;
}

/** What of the TLS configuration a reload cannot change: which listeners have TLS, and what they ask of clients. */
function tlsShape(cfg: ServerConfig): unknown {
  return Object.entries(cfg.tls ?? {}).map(([name, t]) => [name, t && { ...t, cert: undefined, key: undefined, ca: undefined, clientIdentity: undefined }]);
}

/** New handshakes of every TLS listener use the certificates the files now hold; returns the listeners reloaded. */
function reloadCertificates(server: RunningServer, next: ServerConfig, logger: Logger): string[] {
  const reloaded: string[] = [];
  for (const [name, endpoint] of server.tls) {
    const cfg = next.tls?.[name];
    if (!cfg) continue; // TLS removed from a listener: waits for a restart (reported by restartKeys)
    try {
      endpoint.reload(cfg);
      reloaded.push(name);
    } catch (err) {
      logger.error({ event: 'tls.reload', listener: name, ok: false, problem: (err as Error).message }, 'TLS certificates not reloaded: the ones in use stay');
    }
  }
  return reloaded;
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
  const tlsReloaded = reloadCertificates(server, next, logger);
  logger.info({ event: 'config.reload', file, ok: true, added, updated, kept, tlsReloaded, needsRestart }, 'configuration reloaded: realms, roles, principals and certificates applied');
  const tls = needsRestart.includes('tls') ? running.tls : next.tls;
  return { ...running, tls, router: { ...running.router, realms: next.router.realms } };
}
