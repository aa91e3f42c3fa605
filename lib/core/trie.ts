// One trie for every kind of pattern: exact, WAMP prefix, single-level wildcard (WAMP empty
// component, MQTT '+') and MQTT '#'. Matching walks the topic's levels, so its cost grows with
// topic depth and the number of wildcard branches taken, not with the number of patterns.
import { isReservedFirstLevel } from './topic.ts';
import type { Pattern } from './types.ts';

class TrieNode<T> {
  children = new Map<string, TrieNode<T>>();
  any: TrieNode<T> | undefined;
  /** Patterns ending exactly here. */
  here = new Set<T>();
  /** MQTT '#' patterns whose parent is this node: match this level and everything below. */
  multi = new Set<T>();
  /** WAMP prefix patterns whose last (partial) level is the key, rooted at this node. */
  prefixes = new Map<string, Set<T>>();

  isEmpty(): boolean {
    return this.children.size === 0 && !this.any && this.here.size === 0 && this.multi.size === 0 && this.prefixes.size === 0;
  }
}

export class PatternTrie<T> {
  private root = new TrieNode<T>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(p: Pattern, item: T): void {
    const set = this.slot(p);
    if (!set.has(item)) {
      set.add(item);
      this.count++;
    }
  }

  remove(p: Pattern, item: T): void {
    const path: [TrieNode<T>, string | null][] = [];
    let node: TrieNode<T> | undefined = this.root;
    const walk = p.match === 'prefix' ? p.levels.slice(0, -1) : p.levels;
    for (const level of walk) {
      const next: TrieNode<T> | undefined = level === null ? node.any : node.children.get(level);
      if (!next) return;
      path.push([node, level]);
      node = next;
    }
    let set: Set<T> | undefined;
    if (p.match === 'prefix') {
      const last = p.levels[p.levels.length - 1] as string;
      set = node.prefixes.get(last);
      if (set?.delete(item)) {
        this.count--;
        if (set.size === 0) node.prefixes.delete(last);
      }
    } else {
      set = p.multi ? node.multi : node.here;
      if (set.delete(item)) this.count--;
    }
    // Prune empty branches so the trie does not grow with churn.
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, level] = path[i] as [TrieNode<T>, string | null];
      const child = level === null ? parent.any : parent.children.get(level);
      if (!child || !child.isEmpty()) break;
      if (level === null) parent.any = undefined;
      else parent.children.delete(level);
    }
  }

  /** Branches put aside by match(); reused, unless a visit matches again (re-entrant publish). */
  private stackNodes: TrieNode<T>[] = [];
  private stackLevels: number[] = [];
  private matching = false;

  /**
   * Calls `visit` once for every pattern item that matches the concrete topic. A loop, not a
   * recursion: topics are client input and may have thousands of levels. The walk follows the
   * exact child and puts single-level-wildcard branches aside on a stack, taken after the exact
   * branch (the order a depth-first recursion visits them in).
   */
  match(topic: readonly string[], visit: (item: T) => void): void {
    const reentered = this.matching;
    const nodes = reentered ? [] : this.stackNodes;
    const levels = reentered ? [] : this.stackLevels;
    this.matching = true;
    try {
      this.walk(topic, visit, nodes, levels);
    } finally {
      this.matching = reentered;
    }
  }

  private walk(topic: readonly string[], visit: (item: T) => void, nodes: TrieNode<T>[], levels: number[]): void {
    const n = topic.length;
    const dollar = n > 0 && isReservedFirstLevel(topic[0] as string);
    let sp = 0;
    let node = this.root;
    let i = 0;
    for (;;) {
      // Wildcards at the first level never match '$' topics.
      const wildOk = i !== 0 || !dollar;
      if (node.prefixes.size > 0 && i < n) {
        const level = topic[i] as string;
        for (const [prefix, set] of node.prefixes) {
          if (level.startsWith(prefix) && (wildOk || prefix.length > 0)) for (const item of set) visit(item);
        }
      }
      if (wildOk && node.multi.size > 0) for (const item of node.multi) visit(item);
      let next: TrieNode<T> | undefined;
      if (i === n) {
        for (const item of node.here) visit(item);
      } else {
        next = node.children.get(topic[i] as string);
        const any = wildOk ? node.any : undefined;
        if (any) {
          if (next) {
            nodes[sp] = any;
            levels[sp++] = i + 1;
          } else next = any;
        }
      }
      if (next) {
        node = next;
        i++;
      } else if (sp > 0) {
        node = nodes[--sp] as TrieNode<T>;
        i = levels[sp] as number;
      } else return;
    }
  }

  /** The set that holds items of pattern `p`, created on the way. */
  private slot(p: Pattern): Set<T> {
    let node = this.root;
    const walk = p.match === 'prefix' ? p.levels.slice(0, -1) : p.levels;
    for (const level of walk) {
      let next = level === null ? node.any : node.children.get(level);
      if (!next) {
        next = new TrieNode<T>();
        if (level === null) node.any = next;
        else node.children.set(level, next);
      }
      node = next;
    }
    if (p.match === 'prefix') {
      const last = p.levels[p.levels.length - 1] as string;
      let set = node.prefixes.get(last);
      if (!set) {
        set = new Set();
        node.prefixes.set(last, set);
      }
      return set;
    }
    return p.multi ? node.multi : node.here;
  }
}
