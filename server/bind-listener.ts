// Binding a listener: resolves once it listens, rejects with the bind error (EADDRINUSE, EACCES...)
// instead of letting it surface later as an unhandled 'error' event.
import type net from 'node:net';

export function bindListener(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
