// docs/configuration.md documents every key of the schema, and every default it shows is the
// schema's: a key added to the schema without its line in the docs fails here.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { ConfigFileSchema } from '../../server/config-schema.ts';

interface Node {
  properties?: Record<string, Node>;
  items?: Node;
  patternProperties?: Record<string, Node>;
  anyOf?: Node[];
  default?: unknown;
}

/** Every key path, as the docs write it (`realms[].auth.ticket.<name>.role`), with its default. */
function keys(node: Node, path = '', out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [k, child] of Object.entries(node.properties ?? {})) {
    const p = path ? `${path}.${k}` : k;
    out.set(p, child.default);
    keys(child, p, out);
  }
  if (node.items) keys(node.items, `${path}[]`, out);
  for (const child of Object.values(node.patternProperties ?? {})) keys(child, `${path}.<name>`, out);
  for (const child of node.anyOf ?? []) keys(child, path, out);
  return out;
}

test('docs/configuration.md has a row for every key, with the schema default', (t) => {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const rows = new Map(
    doc
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) => l.split(' | '))
      .map((cells) => [cells[0]!.slice(3, -1), cells[2]!] as const),
  );
  const all = keys(ConfigFileSchema as Node);
  t.true(all.size > 100);
  for (const [key, def] of all) {
    t.true(rows.has(key), `docs/configuration.md documents ${key}`);
    if (def !== undefined && !Array.isArray(def)) t.is(rows.get(key), `\`${JSON.stringify(def)}\``, `the default of ${key}`);
  }
  for (const key of rows.keys()) t.true(all.has(key), `${key} is a key of the schema`);
});
