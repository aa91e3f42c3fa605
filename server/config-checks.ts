// The configuration's checkers: ajv validators for a whole file and for flag/variable values, with
// the schema they check. The built server loads them precompiled (config-checks.generated.cjs,
// written by the build's config-precompile.js), so its start pays for neither TypeBox nor ajv's
// compiler; run from the sources, they are compiled from config-schema.ts here.
import { existsSync } from 'node:fs';
import type { ErrorObject } from 'ajv';
import type { ConfigFileSchema, ServerScalarsSchema } from './config-schema.ts';

/** An ajv validate function: true, or false with `errors` set. */
export interface Validator {
  (value: unknown): boolean;
  errors?: ErrorObject[] | null;
}

export interface ConfigChecks {
  /** The file's JSON Schema (plain JSON when precompiled: TypeBox's symbols are left out). */
  fileSchema: typeof ConfigFileSchema;
  /** The server's scalar keys, each also a flag and a KITSUNE_* variable. */
  scalarsSchema: typeof ServerScalarsSchema;
  /** Checks a whole configuration file. */
  file: Validator;
  /** Checks any subset of the scalar keys (flag or variable values). */
  scalars: Validator;
}

const precompiled = new URL('./config-checks.generated.cjs', import.meta.url);

async function load(): Promise<ConfigChecks> {
  if (existsSync(precompiled)) return ((await import(precompiled.href)) as { default: ConfigChecks }).default;
  // a literal specifier, so the build rewrites it to config-compile.js like any import
  const { compileConfigChecks } = await import('./config-compile.ts');
  return compileConfigChecks().checks;
}

export const configChecks: ConfigChecks = await load();
