// Retained values indexed by topic levels, so a subscription finds its retained values by walking
// the tree along its pattern instead of scanning every key.
import { SkipList } from './skip-list.ts';
import type { Pattern } from './types.ts';

/** Ranks the levels below a node; the same function (by identity) keeps the same index. */
export type LevelRank = (level: string) => number;

class RetainedNode<T> {
  children = new Map<string, RetainedNode<T>>();
  value: T | undefined;
  /** Children ordered by (rank, level): built on the first ranked listing, then kept up to date. */
  ranked?: { rank: LevelRank; list: SkipList<RetainedNode<T>> };
}

export class RetainedTree<T> {
  private root = new RetainedNode<T>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(topic: readonly string[]): T | undefined {
    let node: RetainedNode<T> | undefined = this.root;
    for (const level of topic) {
      node = node.children.get(level);
      if (!node) return undefined;
    }
    return node.value;
  }

  set(topic: readonly string[], value: T): void {
    let node = this.root;
    for (const level of topic) {
      let next = node.children.get(level);
      if (!next) {
        next = new RetainedNode<T>();
        node.children.set(level, next);
        node.ranked?.list.insert(node.ranked.rank(level), level, next);
      }
      node = next;
    }
    if (!node.value) this.count++;
    node.value = value;
  }

  delete(topic: readonly string[]): boolean {
    const path: RetainedNode<T>[] = [this.root];
    let node: RetainedNode<T> | undefined = this.root;
    for (const level of topic) {
      node = node.children.get(level);
      if (!node) return false;
      path.push(node);
    }
    if (!node.value) return false;
    node.value = undefined;
    this.count--;
    for (let i = topic.length; i > 0; i--) {
      const n = path[i] as RetainedNode<T>;
      if (n.value || n.children.size > 0) break;
      const parent = path[i - 1] as RetainedNode<T>;
      const level = topic[i - 1] as string;
      parent.children.delete(level);
      parent.ranked?.list.remove(parent.ranked.rank(level), level);
    }
    return true;
  }

  /** The values one level below `topic`, as [level, value], in the order the levels were created. */
  *children(topic: readonly string[]): Generator<[string, T]> {
    let node: RetainedNode<T> | undefined = this.root;
    for (const level of topic) {
      node = node.children.get(level);
      if (!node) return;
    }
    for (const [level, child] of node.children) if (child.value) yield [level, child.value];
  }

  /**
   * The values one level below `topic` whose rank is in [start, end), as [level, value], in (rank,
   * level) order: O(log n) to the first, then one step per child. The index is built (O(n)) the
   * first time a topic is listed with a rank function, and kept up to date by set and delete.
   */
  *ranked(topic: readonly string[], rank: LevelRank, start: number, end: number): Generator<[string, T]> {
    let node: RetainedNode<T> | undefined = this.root;
    for (const level of topic) {
      node = node.children.get(level);
      if (!node) return;
    }
    if (node.ranked?.rank !== rank) {
      const list = new SkipList<RetainedNode<T>>();
      for (const [level, child] of node.children) list.insert(rank(level), level, child);
      node.ranked = { rank, list };
    }
    for (let n = node.ranked.list.seek(start); n && n.score < end; n = n.next[0]) if (n.value.value) yield [n.key, n.value.value];
  }

  /** The levels one below `topic` that have values somewhere beneath them. */
  *branches(topic: readonly string[]): Generator<string> {
    let node: RetainedNode<T> | undefined = this.root;
    for (const level of topic) {
      node = node.children.get(level);
      if (!node) return;
    }
    for (const [level, child] of node.children) if (child.children.size > 0) yield level;
  }

  /**
   * Every retained publication whose topic matches the pattern. Loops with an explicit stack (no
   * recursion): retained topics and subscription filters are client input, thousands of levels deep.
   */
  match(p: Pattern): T[] {
    const out: T[] = [];
    const n = p.levels.length;
    const stack: (RetainedNode<T> | number)[] = [this.root, 0];
    while (stack.length > 0) {
      const i = stack.pop() as number;
      const node = stack.pop() as RetainedNode<T>;
      const wildOk = i > 0;
      if (p.match === 'prefix' && i === n - 1) {
        const last = p.levels[i] as string;
        for (const [level, child] of node.children) {
          if (!level.startsWith(last)) continue;
          if (i === 0 && last === '' && level.startsWith('$')) continue;
          this.all(child, out);
        }
        continue;
      }
      if (i === n) {
        if (node.value) out.push(node.value);
        if (p.multi) for (const [level, child] of node.children) if (wildOk || !level.startsWith('$')) this.all(child, out);
        continue;
      }
      const level = p.levels[i];
      if (level === null) {
        // Pushed in reverse so they pop in insertion order (the order a recursion would give).
        const kids = [...node.children].filter(([name]) => wildOk || !name.startsWith('$'));
        for (let k = kids.length - 1; k >= 0; k--) stack.push((kids[k] as [string, RetainedNode<T>])[1], i + 1);
      } else {
        const child = node.children.get(level);
        if (child) stack.push(child, i + 1);
      }
    }
    return out;
  }

  /** Every value at or below `from`. */
  private all(from: RetainedNode<T>, out: T[]): void {
    const stack = [from];
    while (stack.length > 0) {
      const node = stack.pop() as RetainedNode<T>;
      if (node.value) out.push(node.value);
      if (node.children.size === 0) continue;
      const kids = [...node.children.values()];
      for (let k = kids.length - 1; k >= 0; k--) stack.push(kids[k] as RetainedNode<T>);
    }
  }
}
