// Starts a kitsune server in-process on ephemeral ports for a test, and stops it afterwards.
import type { ExecutionContext } from 'ava';
import { type RouterConfig } from '../../lib/core/config.ts';
import { silentLogger } from '../../lib/core/log.ts';
import { defaultConfig, type ServerConfig } from '../../server/config.ts';
import { type RunningServer, startServer } from '../../server/server.ts';

export async function startTestServer(t: ExecutionContext, router?: Partial<RouterConfig>, overrides: Partial<ServerConfig> = {}): Promise<RunningServer> {
  const base = defaultConfig();
  const config: ServerConfig = {
    ...base,
    port: 0,
    mqttPort: null,
    memory: true,
    ...overrides,
    router: { ...base.router, ...router },
  };
  const server = await startServer(config, silentLogger);
  t.teardown(() => server.close());
  return server;
}
