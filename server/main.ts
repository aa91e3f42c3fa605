// `kitsune` / `npm start`: parse the command line, start the server, print where it listens; stop
// cleanly (GOODBYE to every session) on SIGINT or SIGTERM; on SIGHUP re-read the configuration and
// apply what can change live (realms, roles, principals), or keep the running one and log why not.
// Only the command line is loaded up front: `--help`, `--version` and check-config stay quick, and
// the listeners, bridges and stores are loaded only when the server runs.
import { parseCommandLine } from './cli.ts';

async function main(): Promise<void> {
  const cli = parseCommandLine(process.argv.slice(2), process.env, {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
  if (cli.kind === 'exit') {
    process.exitCode = cli.code;
    return;
  }
  if (cli.kind === 'passwd') {
    const { runPasswd } = await import('./passwd.ts');
    process.exitCode = await runPasswd(cli.options, process.stdin, { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) });
    return;
  }
  const config = cli.config;
  const [{ createLogger }, { reloadConfig }, { startServer }] = await Promise.all([import('./log.ts'), import('./reload.ts'), import('./server.ts')]);
  const logger = createLogger(config.logLevel);
  const server = await startServer(config, logger);
  let running = config;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'shutdown', signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => {
    if (!stopping) running = reloadConfig(server, running, cli.load, cli.configFile, logger);
  });
  // Announced only once the signal handlers are in place, so a script may stop us right away.
  process.stdout.write(JSON.stringify({ event: 'listening', ...server.urls }) + '\n');
  for (const [name, url] of Object.entries(server.urls)) logger.info({ event: 'listener', listener: name, url }, 'listening');
}

main().catch((err: unknown) => {
  process.stderr.write(`kitsune failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
