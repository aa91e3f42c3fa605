// Compiles the configuration's checkers from the TypeBox schema (config-schema.ts) with ajv. The
// sources use this at start; the build runs it once (config-precompile.ts) and ships the result, so
// the built server loads neither TypeBox nor ajv's compiler.
import { Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import type { ConfigChecks, Validator } from './config-check-types.ts';
import { ConfigFileSchema, ServerScalarsSchema } from './config-schema.ts';

/** The checkers and the ajv instance that holds them (under the keys `file` and `scalars`). */
export function compileConfigChecks(withSource = false): { ajv: Ajv; checks: ConfigChecks } {
  // allErrors: check-config lists every problem at once; verbose: errors carry the value and its schema.
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true, code: { source: withSource } });
  ajv.addSchema(ConfigFileSchema, 'file');
  // flags and variables set any subset of the scalar keys
  ajv.addSchema(Type.Partial(ServerScalarsSchema), 'scalars');
  return { ajv, checks: { fileSchema: ConfigFileSchema, scalarsSchema: ServerScalarsSchema, file: onFirstUse(ajv, 'file'), scalars: onFirstUse(ajv, 'scalars') } };
}

/** A validator compiled on its first call: most importers (tests, --help) never validate. */
function onFirstUse(ajv: Ajv, key: string): Validator {
  let compiled: Validator | undefined;
  const check: Validator = (value) => {
    compiled ??= ajv.getSchema(key);
    if (!compiled) throw new Error(`config schema ${key} did not compile`);
    const valid = compiled(value);
    check.errors = compiled.errors;
    return valid;
  };
  return check;
}
