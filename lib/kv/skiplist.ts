// A sorted set's order: Redis' skip list (Pugh, with spans), keyed by (score, member),
// so insert, delete, rank and the first element of a range are O(log n) expected.
// Members compare as latin1 strings, i.e. by their bytes. The level of a node comes
// from a PRNG seeded with a constant: the shape never shows in a reply, and the same
// inserts build the same list on every replica.
import { seededRandom } from '../node/random.js';
import { assert } from '../util/assert.js';

const LEVEL_MAX = 32;
const LEVEL_P = 0.25;

export interface SlNode {
  readonly member: string;
  score: number;
  backward: SlNode | null;
  readonly forward: (SlNode | null)[];
  /** span[i]: how many nodes forward[i] skips over (1 = the next node). */
  readonly span: number[];
}

function node(level: number, score: number, member: string): SlNode {
  return { member, score, backward: null, forward: new Array<SlNode | null>(level).fill(null), span: new Array<number>(level).fill(0) };
}

/** (score, member) order. */
export function before(aScore: number, aMember: string, bScore: number, bMember: string): boolean {
  return aScore < bScore || (aScore === bScore && aMember < bMember);
}

export class SkipList {
  private readonly head = node(LEVEL_MAX, 0, '');
  private tail: SlNode | null = null;
  private level = 1;
  length = 0;
  private readonly random = seededRandom(0x5eed);

  private randomLevel(): number {
    let l = 1;
    while (l < LEVEL_MAX && this.random() < LEVEL_P) l++;
    return l;
  }

  insert(score: number, member: string): void {
    assert(!Number.isNaN(score), 'NaN score');
    const update: SlNode[] = new Array<SlNode>(LEVEL_MAX);
    const rank: number[] = new Array<number>(LEVEL_MAX).fill(0);
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      rank[i] = i === this.level - 1 ? 0 : rank[i + 1]!;
      for (let f = x.forward[i]; f && before(f.score, f.member, score, member); f = x.forward[i]) {
        rank[i]! += x.span[i]!;
        x = f;
      }
      update[i] = x;
    }
    const level = this.randomLevel();
    if (level > this.level) {
      for (let i = this.level; i < level; i++) {
        rank[i] = 0;
        update[i] = this.head;
        this.head.span[i] = this.length;
      }
      this.level = level;
    }
    const n = node(level, score, member);
    for (let i = 0; i < level; i++) {
      const u = update[i]!;
      n.forward[i] = u.forward[i]!;
      u.forward[i] = n;
      n.span[i] = u.span[i]! - (rank[0]! - rank[i]!);
      u.span[i] = rank[0]! - rank[i]! + 1;
    }
    for (let i = level; i < this.level; i++) update[i]!.span[i]!++;
    n.backward = update[0] === this.head ? null : update[0]!;
    if (n.forward[0]) n.forward[0].backward = n;
    else this.tail = n;
    this.length++;
  }

  /** Removes (score, member); false if absent. */
  delete(score: number, member: string): boolean {
    const update: SlNode[] = new Array<SlNode>(LEVEL_MAX);
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      for (let f = x.forward[i]; f && before(f.score, f.member, score, member); f = x.forward[i]) x = f;
      update[i] = x;
    }
    const n = x.forward[0];
    if (!n || n.score !== score || n.member !== member) return false;
    for (let i = 0; i < this.level; i++) {
      const u = update[i]!;
      if (u.forward[i] === n) {
        u.span[i]! += n.span[i]! - 1;
        u.forward[i] = n.forward[i]!;
      } else {
        u.span[i]!--;
      }
    }
    if (n.forward[0]) n.forward[0].backward = n.backward;
    else this.tail = n.backward;
    while (this.level > 1 && this.head.forward[this.level - 1] === null) this.level--;
    this.length--;
    return true;
  }

  /** 0-based rank of (score, member), which must be present. */
  rank(score: number, member: string): number {
    let r = 0;
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      for (let f = x.forward[i]; f && (before(f.score, f.member, score, member) || (f.score === score && f.member === member)); f = x.forward[i]) {
        r += x.span[i]!;
        x = f;
      }
      if (x !== this.head && x.member === member) return r - 1;
    }
    throw new Error(`skip list: ${member} not found`);
  }

  /** The node at 0-based rank r, or null. */
  at(r: number): SlNode | null {
    if (r < 0 || r >= this.length) return null;
    let traversed = 0;
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      while (x.forward[i] && traversed + x.span[i]! <= r + 1) {
        traversed += x.span[i]!;
        x = x.forward[i]!;
      }
      if (traversed === r + 1) return x;
    }
    return null;
  }

  /** The first node for which `pastMin` holds (the predicate must be monotone in list order), or null. */
  firstWhere(pastMin: (n: SlNode) => boolean): SlNode | null {
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      for (let f = x.forward[i]; f && !pastMin(f); f = x.forward[i]) x = f;
    }
    return x.forward[0];
  }

  /** The last node for which `withinMax` holds (monotone: true then false), or null. */
  lastWhere(withinMax: (n: SlNode) => boolean): SlNode | null {
    let x = this.head;
    for (let i = this.level - 1; i >= 0; i--) {
      for (let f = x.forward[i]; f && withinMax(f); f = x.forward[i]) x = f;
    }
    return x === this.head ? null : x;
  }

  first(): SlNode | null {
    return this.head.forward[0];
  }

  last(): SlNode | null {
    return this.tail;
  }
}
