// RetainedTree.ranked: the children of a topic in (rank, level) order from an index that index()
// asks for, built in slices for existing children and kept up to date by set and delete, checked
// against a model over random writes (also writes made while the index is being built).
import test from 'ava';
import { RetainedTree } from '../../lib/core/retained.ts';

const rank = (level: string): number => level.length % 7;
const listed = (tree: RetainedTree<string>, start: number, end: number): string[] => [...tree.ranked(['t'], rank, start, end)].map(([level]) => level);

test('RetainedTree.ranked follows sets and deletes after the index is built, in (rank, level) order', async (t) => {
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
  await tree.index(['t'], rank);
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
  // a rank without an index is refused rather than built in one long turn
  t.throws(() => [...tree.ranked(['t'], (l) => l.charCodeAt(0), 98, 99)], { message: /no ranked index/ });
  t.deepEqual([...tree.ranked(['none'], rank, 0, 7)], []);
});

test('RetainedTree.index builds over existing children in slices while writes go on, and wildcard rules cover new nodes', async (t) => {
  const tree = new RetainedTree<string>();
  const model = new Map<string, Set<string>>();
  const add = (table: string, level: string): void => {
    tree.set(['h', table, level], level);
    if (!model.has(table)) model.set(table, new Set());
    model.get(table)!.add(level);
  };
  for (let i = 0; i < 20_000; i++) add(`t${i % 3}`, `f${i}`);
  const ready = tree.index(['h', null], rank);
  t.is(tree.index(['h', null], rank), ready, 'asking again returns the same promise');
  // writes and deletes between the slices of the build
  let turns = 0;
  let done = false;
  void ready.then(() => (done = true));
  for (let i = 0; !done; i++) {
    add(`t${i % 4}`, `g${i}`);
    if (i % 5 === 0) {
      tree.delete(['h', 't0', `f${i * 3}`]);
      model.get('t0')!.delete(`f${i * 3}`);
    }
    await new Promise((r) => setImmediate(r));
    turns++;
  }
  t.true(turns > 3, `the build took ${turns} turns`);
  add('fresh', 'x');
  for (const [table, levels] of model) {
    const want = [...levels].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
    t.deepEqual([...tree.ranked(['h', table], rank, 0, 7)].map(([l]) => l), want, table);
  }
});
