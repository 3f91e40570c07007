// A set of strings with O(1) add, delete, membership and pick-by-position, so SPOP and
// SRANDMEMBER cost what Redis documents (O(1) per member) instead of a copy of the set.
// Members sit in an array; a delete moves the last member into the hole. The order is
// therefore not insertion order after deletes, but it depends only on the operations,
// so every replica iterates a set alike (and Redis' own order is its hash table's).
export class IndexedSet implements Iterable<string> {
  private items: string[] = [];
  /** Invariant: pos.get(items[i]) === i for every i. */
  private readonly pos = new Map<string, number>();

  constructor(members: Iterable<string> = []) {
    for (const m of members) this.add(m);
  }

  /** A set of these members, distinct and in this order (the array is taken, not copied). */
  static ofDistinct(items: string[]): IndexedSet {
    const s = new IndexedSet();
    for (let i = 0; i < items.length; i++) s.pos.set(items[i]!, i);
    s.items = items;
    return s;
  }

  get size(): number {
    return this.items.length;
  }

  has(m: string): boolean {
    return this.pos.has(m);
  }

  /** False if it was there already. */
  add(m: string): boolean {
    if (this.pos.has(m)) return false;
    this.pos.set(m, this.items.length);
    this.items.push(m);
    return true;
  }

  delete(m: string): boolean {
    const i = this.pos.get(m);
    if (i === undefined) return false;
    const last = this.items.pop()!;
    this.pos.delete(m);
    if (last !== m) {
      this.items[i] = last;
      this.pos.set(last, i);
    }
    return true;
  }

  /** The member at position i (0 <= i < size). */
  at(i: number): string {
    return this.items[i]!;
  }

  /** The members in order, copied. */
  toArray(): string[] {
    return this.items.slice();
  }

  [Symbol.iterator](): Iterator<string> {
    return this.items[Symbol.iterator]();
  }
}
