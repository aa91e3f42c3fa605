// RetainedTree.ranked: the children of a topic in (rank, level) order from an index built on first
// use and kept up to date by set and delete, checked against a model over random writes.
import test from 'ava';
import { RetainedTree } from '../../lib/core/retained.ts';

const rank = (level: string): number => level.length % 7;
const listed = (tree: RetainedTree<string>, start: number, end: number): string[] => [...tree.ranked(['t'], rank, start, end)].map(([level]) => level);

test('RetainedTree.ranked follows sets and deletes after the index is built, in (rank, level) order', (t) => {
  const tree = new RetainedTree<string>();
  const model = new Set<string>();
  let seed = 99;
  const rand = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const expect = (start: number, end: number): string[] =>
    [...model].filter((l) => rank(l) >= start && rank(l) < end).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  for (let i = 0; i < 200; i++) {
    const level = 'x'.repeat(rand(12)) + String(rand(50));
    tree.set(['t', level], level);
    model.add(level);
  }
  t.deepEqual(listed(tree, 0, 7), expect(0, 7), 'the index built from the existing children');
  for (let i = 0; i < 2000; i++) {
    const level = 'x'.repeat(rand(12)) + String(rand(50));
    if (rand(3) === 0) {
      t.is(tree.delete(['t', level]), model.delete(level));
    } else {
      tree.set(['t', level], level);
      model.add(level);
    }
  }
  t.deepEqual(listed(tree, 0, 7), expect(0, 7));
  t.deepEqual(listed(tree, 2, 4), expect(2, 4));
  // a child that only has values further down is not listed, and goes with its last descendant
  tree.set(['t', 'branch', 'leaf'], 'deep');
  t.false(listed(tree, 0, 7).includes('branch'));
  tree.delete(['t', 'branch', 'leaf']);
  tree.set(['t', 'branch'], 'now a value');
  t.true(listed(tree, 0, 7).includes('branch'));
  // another rank function gets its own index
  const byFirst = [...tree.ranked(['t'], (l) => l.charCodeAt(0), 98, 99)].map(([l]) => l);
  t.deepEqual(byFirst, ['branch']);
  t.deepEqual([...tree.ranked(['none'], rank, 0, 7)], []);
});
