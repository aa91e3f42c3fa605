// Retained values indexed by topic levels, so a subscription finds its retained values by walking
// the tree along its pattern instead of scanning every key.
import { SkipList } from './skip-list.ts';
import type { Pattern } from './types.ts';

/** Ranks the levels below a node; the same function (by identity) keeps the same index. */
export type LevelRank = (level: string) => number;

/** Children ordered by (rank, level); `complete` once every child that existed when it was asked for is in. */
interface RankedChildren<T> {
  rank: LevelRank;
  list: SkipList<RetainedNode<T>>;
  complete: boolean;
}

class RetainedNode<T> {
  children = new Map<string, RetainedNode<T>>();
  value: T | undefined;
  ranked?: RankedChildren<T>;
}

/**
 * Which nodes keep a ranked index of their children: those whose path matches `levels` (null
 * matches any one level). `ready` settles once the nodes that existed when the rule was made are indexed.
 */
interface RankRule {
  levels: readonly (string | null)[];
  rank: LevelRank;
  ready: Promise<void>;
}

/** Work done per event-loop turn while indexing existing children, so a big table never stalls the loop. */
const INDEX_SLICE = 2048;
/** Most rules a tree takes: each costs a check whenever a node is created. */
const MAX_RULES = 16;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function sameLevels(a: readonly (string | null)[], b: readonly (string | null)[]): boolean {
  return a.length === b.length && a.every((level, i) => level === b[i]);
}

export class RetainedTree<T> {
  private root = new RetainedNode<T>();
  private count = 0;
  private readonly rules: RankRule[] = [];

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
    let depth = 0;
    for (const level of topic) {
      let next = node.children.get(level);
      if (!next) {
        next = new RetainedNode<T>();
        node.children.set(level, next);
        // while an index is being built, its walk of `children` meets this child too
        if (node.ranked?.complete) node.ranked.list.insert(node.ranked.rank(level), level, next);
        this.indexNew(next, topic, depth + 1);
      }
      node = next;
      depth++;
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
   * Keeps the children of every node whose path matches `levels` (null: any one level) ordered by
   * `rank`: nodes created from now on start with an empty index, kept up to date by set and delete;
   * nodes that exist already are indexed a slice per event-loop turn. Resolves when they all are.
   * Asking again with the same levels and rank returns the same promise.
   */
  index(levels: readonly (string | null)[], rank: LevelRank): Promise<void> {
    const known = this.rules.find((r) => r.rank === rank && sameLevels(r.levels, levels));
    if (known) return known.ready;
    if (this.rules.length >= MAX_RULES) return Promise.reject(new RangeError(`a retained tree keeps at most ${MAX_RULES} ranked indexes`));
    const rule: RankRule = { levels: [...levels], rank, ready: Promise.resolve() };
    this.rules.push(rule);
    rule.ready = this.indexExisting(rule);
    return rule.ready;
  }

  /** A new node at `depth` along `topic`: it gets an (empty, complete) index if a rule names its path. */
  private indexNew(node: RetainedNode<T>, topic: readonly string[], depth: number): void {
    for (const rule of this.rules) {
      if (rule.levels.length !== depth) continue;
      if (rule.levels.every((level, i) => level === null || level === topic[i])) {
        node.ranked = { rank: rule.rank, list: new SkipList(), complete: true };
        return;
      }
    }
  }

  /** Indexes the nodes that match `rule` and have no index yet, INDEX_SLICE steps per turn. */
  private async indexExisting(rule: RankRule): Promise<void> {
    let steps = 0;
    for (const _ of this.indexSteps(rule)) {
      if (++steps % INDEX_SLICE === 0) await nextTurn();
    }
  }

  /**
   * The walk behind indexExisting(), one yield per unit of work. Map iterators are live: children
   * added while it pauses are met later in the walk, deleted ones are skipped, so the index it
   * builds is exact when it completes (until then set() leaves that node's index alone).
   */
  private *indexSteps(rule: RankRule): Generator<void> {
    const stack: [RetainedNode<T>, number][] = [[this.root, 0]];
    while (stack.length > 0) {
      const [node, i] = stack.pop() as [RetainedNode<T>, number];
      if (i < rule.levels.length) {
        const level = rule.levels[i];
        if (level !== null && level !== undefined) {
          const child = node.children.get(level);
          if (child) stack.push([child, i + 1]);
          continue;
        }
        for (const child of node.children.values()) {
          stack.push([child, i + 1]);
          yield;
        }
        continue;
      }
      if (node.ranked?.rank === rule.rank) continue;
      const ranked: RankedChildren<T> = { rank: rule.rank, list: new SkipList(), complete: false };
      node.ranked = ranked;
      for (const [level, child] of node.children) {
        ranked.list.insert(rule.rank(level), level, child);
        yield;
      }
      ranked.complete = true;
    }
  }

  /**
   * The values one level below `topic` whose rank is in [start, end), as [level, value], in (rank,
   * level) order: O(log n) to the first, then one step per child. Needs a complete index made by
   * index() with the same rank (await its promise first); throws without one.
   */
  *ranked(topic: readonly string[], rank: LevelRank, start: number, end: number): Generator<[string, T]> {
    let node: RetainedNode<T> | undefined = this.root;
    for (const level of topic) {
      node = node.children.get(level);
      if (!node) return;
    }
    const ranked = node.ranked;
    if (ranked?.rank !== rank || !ranked.complete) throw new Error(`no ranked index below '${topic.join('.')}': ask index() for one and wait for it`);
    for (let n = ranked.list.seek(start); n && n.score < end; n = n.next[0]) if (n.value.value) yield [n.key, n.value.value];
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
