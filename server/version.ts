// The server's version, from package.json (--version, the $SYS/broker/version topic): one level up
// from server/ (the sources), two from dist/server/ (the build).
import { existsSync, readFileSync } from 'node:fs';

export function packageVersion(): string {
  const file = ['../package.json', '../../package.json'].map((p) => new URL(p, import.meta.url)).find((url) => existsSync(url));
  if (!file) throw new Error('package.json not found next to the server');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
