// `kitsune` / `npm start`: parse the command line, start the server, print where it listens,
// and shut down cleanly (GOODBYE to every session) on SIGINT or SIGTERM.
import { configFromArgs } from './config.ts';
import { createLogger } from './log.ts';
import { startServer } from './server.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = configFromArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);
  const server = await startServer(config, logger);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
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
  // Announced only once the signal handlers are in place, so a script may stop us right away.
  process.stdout.write(JSON.stringify({ event: 'listening', ...server.urls }) + '\n');
  logger.info({ urls: server.urls }, 'kitsune listening');
}

main().catch((err: unknown) => {
  process.stderr.write(`kitsune failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
