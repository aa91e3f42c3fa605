// Retained events indexed by topic levels, so a subscription finds its retained values by walking
// the tree along its pattern instead of scanning every key.
import type { Pattern, Publication } from './types.ts';

class RetainedNode {
  children = new Map<string, RetainedNode>();
  value: Publication | undefined;
}

export class RetainedTree {
  private root = new RetainedNode();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(topic: readonly string[]): Publication | undefined {
    let node: RetainedNode | undefined = this.root;
    for (const level of topic) {
      node = node.children.get(level);
      if (!node) return undefined;
    }
    return node.value;
  }

  set(topic: readonly string[], pub: Publication): void {
    let node = this.root;
    for (const level of topic) {
      let next = node.children.get(level);
      if (!next) {
        next = new RetainedNode();
        node.children.set(level, next);
      }
      node = next;
    }
    if (!node.value) this.count++;
    node.value = pub;
  }

  delete(topic: readonly string[]): boolean {
    const path: RetainedNode[] = [this.root];
    let node: RetainedNode | undefined = this.root;
    for (const level of topic) {
      node = node.children.get(level);
      if (!node) return false;
      path.push(node);
    }
    if (!node.value) return false;
    node.value = undefined;
    this.count--;
    for (let i = topic.length; i > 0; i--) {
      const n = path[i] as RetainedNode;
      if (n.value || n.children.size > 0) break;
      (path[i - 1] as RetainedNode).children.delete(topic[i - 1] as string);
    }
    return true;
  }

  /** Every retained publication whose topic matches the pattern. */
  match(p: Pattern): Publication[] {
    const out: Publication[] = [];
    this.walk(this.root, p, 0, out);
    return out;
  }

  private walk(node: RetainedNode, p: Pattern, i: number, out: Publication[]): void {
    const n = p.levels.length;
    const wildOk = i > 0;
    if (p.match === 'prefix' && i === n - 1) {
      const last = p.levels[i] as string;
      for (const [level, child] of node.children) {
        if (!level.startsWith(last)) continue;
        if (i === 0 && last === '' && level.startsWith('$')) continue;
        this.all(child, out);
      }
      return;
    }
    if (i === n) {
      if (node.value) out.push(node.value);
      if (p.multi) for (const [level, child] of node.children) if (wildOk || !level.startsWith('$')) this.all(child, out);
      return;
    }
    const level = p.levels[i];
    if (level === null) {
      for (const [name, child] of node.children) if (wildOk || !name.startsWith('$')) this.walk(child, p, i + 1, out);
    } else {
      const child = node.children.get(level);
      if (child) this.walk(child, p, i + 1, out);
    }
  }

  private all(node: RetainedNode, out: Publication[]): void {
    if (node.value) out.push(node.value);
    for (const child of node.children.values()) this.all(child, out);
  }
}
