#!/usr/bin/env node
// The `kitsune` command: runs the server built into dist/ (`npm run build`; `npm install` builds it in
// a checkout, and the published package ships it), so nothing compiles TypeScript at run time.
import { existsSync } from 'node:fs';

const main = new URL('../dist/server/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('kitsune is not built: run `npm run build` in its folder (or `node --import tsx server/main.ts` from the sources)\n');
  process.exit(1);
}
await import(main.href);
