#!/usr/bin/env node
// Runs the TypeScript server through tsx so the package needs no build step.
import { register } from 'node:module';
register('tsx/esm', import.meta.url);
await import('../lib/server/main.ts');
