// A skip list ordered by (score, key): O(log n) expected insert, remove and seek, and ordered walks
// from any point. The memory engine's sorted sets use it (sets with every score 0, so ordered by
// key; keys are byte strings held as latin1 strings, whose code-unit order is SQLite's BLOB order),
// and so do the retained tree's ranked listings (score = a level's rank, e.g. its hustdb bucket).

const MAX_LEVEL = 32;

export class SkipNode<T> {
  readonly next: (SkipNode<T> | undefined)[];
  constructor(
    readonly score: number,
    readonly key: string,
    public value: T,
    levels: number,
  ) {
    this.next = new Array<SkipNode<T> | undefined>(levels);
  }
}

function before(score: number, key: string, node: SkipNode<unknown>): boolean {
  return node.score < score || (node.score === score && node.key < key);
}

export class SkipList<T> {
  private readonly head = new SkipNode<T>(-Infinity, '', undefined as T, MAX_LEVEL);
  private level = 1;
  size = 0;

  private randomLevel(): number {
    let l = 1;
    while (l < MAX_LEVEL && Math.random() < 0.25) l++;
    return l;
  }

  /** The last node before (score, key) on every level in use (the nodes whose links a change rewires). */
  private predecessors(score: number, key: string): SkipNode<T>[] {
    const update = new Array<SkipNode<T>>(MAX_LEVEL);
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      let n = x.next[i];
      while (n && before(score, key, n)) {
        x = n;
        n = x.next[i];
      }
      update[i] = x;
    }
    return update;
  }

  /** Inserts (score, key); the pair must not be present already. */
  insert(score: number, key: string, value: T): SkipNode<T> {
    const update = this.predecessors(score, key);
    const lvl = this.randomLevel();
    if (lvl > this.level) {
      for (let i = this.level; i < lvl; i++) update[i] = this.head;
      this.level = lvl;
    }
    const node = new SkipNode(score, key, value, lvl);
    for (let i = 0; i < lvl; i++) {
      const u = update[i] as SkipNode<T>;
      node.next[i] = u.next[i];
      u.next[i] = node;
    }
    this.size++;
    return node;
  }

  /** Removes (score, key); false when absent. */
  remove(score: number, key: string): boolean {
    const update = this.predecessors(score, key);
    const target = (update[0] as SkipNode<T>).next[0];
    if (!target || target.score !== score || target.key !== key) return false;
    for (let i = 0; i < this.level; i++) {
      const u = update[i] as SkipNode<T>;
      if (u.next[i] !== target) break;
      u.next[i] = target.next[i];
    }
    while (this.level > 1 && this.head.next[this.level - 1] === undefined) this.level--;
    this.size--;
    return true;
  }

  /** The first node at or after (score, key). */
  seekAt(score: number, key: string): SkipNode<T> | undefined {
    return (this.predecessors(score, key)[0] as SkipNode<T>).next[0];
  }

  /** The first node with score ≥ `score` (any key), or the first node when `score` is undefined. */
  seek(score?: number): SkipNode<T> | undefined {
    if (score === undefined) return this.head.next[0];
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      let n = x.next[i];
      while (n && n.score < score) {
        x = n;
        n = x.next[i];
      }
    }
    return x.next[0];
  }
}
