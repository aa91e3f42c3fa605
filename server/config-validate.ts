// Checks a configuration object with one of the schema's validators (config-checks.ts) and turns
// ajv's errors into one line per problem that names the JSON path, the value and what is allowed:
//   realms[0].roles[1].permissions[0].match: "pefix" is not one of exact, prefix, wildcard
import type { ErrorObject } from 'ajv';
import type { Validator } from './config-check-types.ts';

/** A configuration that does not fit the schema; `problems` holds one message per problem. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** Throws ConfigError unless `check` accepts `value`. `label` renders a path (e.g. as a flag name). */
export function validate(check: Validator, value: unknown, label: (path: string) => string = (p) => p || '(top level)'): void {
  if (check(value)) return;
  throw new ConfigError(describeErrors(check.errors ?? [], value, label));
}

function describeErrors(errors: ErrorObject[], root: unknown, label: (path: string) => string): string[] {
  // One message per failing place: an anyOf speaks for the branches that failed under it.
  const unions = errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath);
  const out: string[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.keyword !== 'anyOf' && unions.some((p) => e.instancePath === p || e.instancePath.startsWith(`${p}/`))) continue;
    const message = describe(e, root, label);
    if (seen.has(message)) continue;
    seen.add(message);
    out.push(message);
  }
  return out;
}

function describe(e: ErrorObject, root: unknown, label: (path: string) => string): string {
  const segments = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const here = pathOf(segments, root);
  if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    const parent = e.parentSchema as { properties?: object; patternProperties?: object };
    const patterns = Object.keys(parent.patternProperties ?? {});
    if (patterns.length > 0) return `${label(join(here, key))}: key does not match ${patterns.join(' or ')}`;
    return `${label(join(here, key))}: unknown key (allowed: ${Object.keys(parent.properties ?? {}).join(', ')})`;
  }
  if (e.keyword === 'required') {
    return `${label(join(here, (e.params as { missingProperty: string }).missingProperty))}: missing (required)`;
  }
  return `${label(here)}: ${shown(e.data)} is not ${what(e.parentSchema as Schema)}`;
}

/** The path as a reader writes it: `realms[0].auth.ticket.joe`, quoting keys that are not names. */
function pathOf(segments: string[], root: unknown): string {
  let path = '';
  let node: unknown = root;
  for (const s of segments) {
    path = Array.isArray(node) ? `${path}[${s}]` : join(path, s);
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[s] : undefined;
  }
  return path;
}

/** `path.key`, or `path["key"]` when the key is not a plain name. */
export function join(path: string, key: string): string {
  if (!/^[A-Za-z_$][\w$-]*$/.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path ? `${path}.${key}` : key;
}

function shown(value: unknown): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

interface Schema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  pattern?: string;
  items?: Schema;
  anyOf?: Schema[];
  properties?: Record<string, Schema>;
}

/** What a schema accepts, in words: "an integer from 0 to 65535", "one of exact, prefix, wildcard". */
export function what(s: Schema): string {
  if (s.anyOf) return s.anyOf.map(what).join(', or ');
  if (s.enum) return `one of ${s.enum.join(', ')}`;
  if ('const' in s) return JSON.stringify(s.const);
  const types = Array.isArray(s.type) ? s.type : [s.type];
  return types.map((t) => typeWords(t, s)).join(' or ');
}

function typeWords(type: string | undefined, s: Schema): string {
  switch (type) {
    case 'integer':
    case 'number': {
      const noun = type === 'integer' ? 'an integer' : 'a number';
      if (s.minimum !== undefined && s.maximum !== undefined) return `${noun} from ${s.minimum} to ${s.maximum}`;
      if (s.minimum !== undefined) return `${noun} >= ${s.minimum}`;
      return noun;
    }
    case 'string':
      if (s.pattern) return `a string matching ${s.pattern}`;
      return s.minLength ? 'a non-empty string' : 'a string';
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'null';
    case 'array':
      return s.items ? `a list (each ${what(s.items)})` : 'a list';
    case 'object':
      return s.properties ? `an object {${Object.keys(s.properties).join(', ')}}` : 'an object';
    default:
      return 'allowed here';
  }
}
