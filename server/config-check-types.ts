// What the configuration's checkers are, declared apart from where they come from (precompiled or
// compiled at start), so config-checks.ts and config-compile.ts need not import each other.
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
