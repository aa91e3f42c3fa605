// Compiles the configuration's checkers from the TypeBox schema (config-schema.ts) with ajv. The
// sources use this at start; the build runs it once (config-precompile.ts) and ships the result, so
// the built server loads neither TypeBox nor ajv's compiler.
import { Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import type { ConfigChecks } from './config-checks.ts';
import { ConfigFileSchema, ServerScalarsSchema } from './config-schema.ts';

/** The checkers and the ajv instance that holds them (under the keys `file` and `scalars`). */
export function compileConfigChecks(withSource = false): { ajv: Ajv; checks: ConfigChecks } {
  // allErrors: check-config lists every problem at once; verbose: errors carry the value and its schema.
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true, code: { source: withSource } });
  ajv.addSchema(ConfigFileSchema, 'file');
  // flags and variables set any subset of the scalar keys
  ajv.addSchema(Type.Partial(ServerScalarsSchema), 'scalars');
  const compiled = (key: string) => {
    const check = ajv.getSchema(key);
    if (!check) throw new Error(`config schema ${key} did not compile`);
    return check;
  };
  return { ajv, checks: { fileSchema: ConfigFileSchema, scalarsSchema: ServerScalarsSchema, file: compiled('file'), scalars: compiled('scalars') } };
}
