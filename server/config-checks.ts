// The configuration's checkers: ajv validators for a whole file and for flag/variable values, with
// the schema they check. The built server loads them precompiled (config-checks.generated.cjs,
// written by the build's config-precompile.js), so its start pays for neither TypeBox nor ajv's
// compiler; run from the sources, they are compiled from config-schema.ts here.
import { existsSync } from 'node:fs';
import type { ConfigChecks } from './config-check-types.ts';

export type { ConfigChecks, Validator } from './config-check-types.ts';

const precompiled = new URL('./config-checks.generated.cjs', import.meta.url);

async function load(): Promise<ConfigChecks> {
  if (existsSync(precompiled)) return ((await import(precompiled.href)) as { default: ConfigChecks }).default;
  // a literal specifier, so the build rewrites it to config-compile.js like any import
  const { compileConfigChecks } = await import('./config-compile.ts');
  return compileConfigChecks().checks;
}

export const configChecks: ConfigChecks = await load();
