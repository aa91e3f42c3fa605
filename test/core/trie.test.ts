// PatternTrie.match and RetainedTree.match walk with loops: they agree with patternMatches on random
// patterns and topics, keep the depth-first order, and handle topics tens of thousands of levels
// deep (a recursion overflowed the stack at a few thousand).
import test from 'ava';
import fc from 'fast-check';
import { RetainedTree } from '../../lib/core/retained.ts';
import { mqttPattern, patternMatches, wampPattern } from '../../lib/core/topic.ts';
import { PatternTrie } from '../../lib/core/trie.ts';
import type { Pattern } from '../../lib/core/types.ts';

const limits = { maxTopicLevels: 100_000, maxTopicLength: 1_000_000 };
const level = fc.constantFrom('a', 'b', 'ab', '$sys', 'wamp');
const topicArb = fc.array(level, { minLength: 1, maxLength: 5 });
const filterArb = fc.array(fc.constantFrom('a', 'b', 'ab', '$sys', '+'), { minLength: 1, maxLength: 5 }).chain((parts) =>
  fc.boolean().map((multi) => (multi ? [...parts, '#'] : parts).join('/')),
);
// WAMP prefixes: whole components, the last one possibly partial or empty ('' matches everything).
const prefixArb = fc.tuple(fc.array(fc.constantFrom('a', 'b'), { maxLength: 3 }), fc.constantFrom('a', 'b', '', 'x')).map(([head, last]) => [...head, last].join('.'));

test('PatternTrie.match finds exactly the patterns patternMatches accepts (MQTT filters and WAMP prefixes)', (t) => {
  fc.assert(
    fc.property(fc.array(filterArb, { maxLength: 12 }), fc.array(prefixArb, { maxLength: 4 }), fc.array(topicArb, { maxLength: 8 }), (filters, prefixes, topics) => {
      const trie = new PatternTrie<number>();
      const patterns: Pattern[] = [...filters.map((f) => mqttPattern(f)), ...prefixes.map((p) => wampPattern(p, 'prefix'))];
      patterns.forEach((p, i) => trie.add(p, i));
      for (const topic of topics) {
        const got: number[] = [];
        trie.match(topic, (i) => got.push(i));
        const want = patterns.flatMap((p, i) => (patternMatches(p, topic) ? [i] : []));
        t.deepEqual([...got].sort((x, y) => x - y), want.sort((x, y) => x - y));
      }
    }),
    { seed: 16, numRuns: 300 },
  );
});

test('PatternTrie.match visits the exact branch before the + branch, depth first', (t) => {
  const trie = new PatternTrie<string>();
  for (const f of ['a/+/c', 'a/b/c', '+/b/c', 'a/b/+', '+/+/+']) trie.add(mqttPattern(f), f);
  const got: string[] = [];
  trie.match(['a', 'b', 'c'], (f) => got.push(f));
  t.deepEqual(got, ['a/b/c', 'a/b/+', 'a/+/c', '+/b/c', '+/+/+']);
});

test('PatternTrie.match on 50,000 levels and a 50,000-level + filter', (t) => {
  const trie = new PatternTrie<string>();
  const deep = Array.from({ length: 50_000 }, (_, i) => `l${i}`);
  trie.add(mqttPattern(Array.from({ length: 50_000 }, () => '+').join('/'), limits), 'plus');
  trie.add(mqttPattern(deep.join('/'), limits), 'exact');
  trie.add(mqttPattern('#'), 'all');
  const got: string[] = [];
  trie.match(deep, (x) => got.push(x));
  t.deepEqual(got.sort(), ['all', 'exact', 'plus']);
});

test('PatternTrie.match is re-entrant (a visit may match again)', (t) => {
  const trie = new PatternTrie<string>();
  trie.add(mqttPattern('a/+'), 'w');
  trie.add(mqttPattern('a/b'), 'x');
  const outer: string[] = [];
  const inner: string[] = [];
  trie.match(['a', 'b'], (item) => {
    outer.push(item);
    trie.match(['a', 'c'], (i) => inner.push(i));
  });
  t.deepEqual(outer, ['x', 'w']);
  t.deepEqual(inner, ['w', 'w']);
});

test('RetainedTree.match: 50,000-level retained topics under #, + and exact filters, in insertion order', (t) => {
  const tree = new RetainedTree<string>();
  const deep = Array.from({ length: 50_000 }, (_, i) => `l${i}`);
  tree.set(['a'], 'a');
  tree.set(deep, 'deep');
  tree.set(['a', 'b'], 'a/b');
  tree.set(['$sys', 'x'], 'sys');
  t.deepEqual(tree.match(mqttPattern('#')), ['a', 'a/b', 'deep']);
  t.deepEqual(tree.match(mqttPattern('$sys/#')), ['sys']);
  t.deepEqual(tree.match(mqttPattern(deep.join('/'), limits)), ['deep']);
  t.deepEqual(tree.match(mqttPattern(['l0', ...Array.from({ length: 49_999 }, () => '+')].join('/'), limits)), ['deep']);
  t.deepEqual(tree.match(wampPattern('l', 'prefix')), ['deep']);
  t.is(tree.delete(deep), true);
  t.deepEqual(tree.match(mqttPattern('#')), ['a', 'a/b']);
});
