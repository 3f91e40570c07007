// Wing & Gong's linearizability search with Lowe's memoization, over one partition
// (one key) of a history.
//
// The ops become a doubly linked list of call and return entries in time order. The
// search walks it from the front: a call entry met before any return entry is a
// minimal op, so it may be linearized next; if the model accepts it and the pair
// (set of linearized ops, model state) is new, both its entries are lifted out of the
// list and the walk restarts from the front. Meeting a return entry means the op it
// ends was not linearized in time: undo the last choice and try the next call after
// it. An indeterminate op's return sits at +infinity, after every determinate
// return, so reaching one means every determinate op is placed and the rest may be
// left out: success.
import { assert } from '../util/assert.js';
import { returnTime, type Operation } from './history.js';
import type { Model, StateKey } from './model.js';

export interface SearchLimits {
  /** Loop iterations (one per list entry visited) before the verdict is 'unknown'. */
  readonly stepsMax: number;
  /** Memoized configurations before the verdict is 'unknown'; bounds memory. */
  readonly cacheEntriesMax: number;
  /** Absolute time on `now`'s clock after which the verdict is 'unknown'. */
  readonly deadlineMs?: number;
  readonly now?: () => number;
}

export type GiveUpReason = 'steps' | 'time' | 'cache';

/** The deepest point the search reached before it had to back up. */
export interface Stuck<S> {
  /** Indices into ops, in linearization order: the longest linearizable prefix found. */
  readonly prefix: readonly number[];
  /** The model state after the prefix. */
  readonly state: S;
  /** The op whose completion came before it could be linearized. */
  readonly blocked: number;
  /** The ops not in the prefix that had been invoked before `blocked` completed, in invocation order. */
  readonly pending: readonly number[];
}

export type SearchResult<S> =
  | { readonly verdict: true; readonly steps: number; readonly linearization: readonly number[] }
  | { readonly verdict: false; readonly steps: number; readonly stuck: Stuck<S> }
  | { readonly verdict: 'unknown'; readonly steps: number; readonly reason: GiveUpReason; readonly stuck?: Stuck<S> };

/** Bound on the cache of model steps; it is emptied when full. */
const TRANSITIONS_CACHED_MAX = 1 << 22;

/** How often, in steps, the deadline is looked at. */
const CLOCK_CHECK_INTERVAL_STEPS = 4096;

/**
 * The linearized-ops set as a bitset that tracks its own informative window: every
 * word below `lo` is all ones, every word above `hi` is zero. With a few concurrent
 * clients the window is a word or two, so memo keys stay short on long histories.
 */
class OpSet {
  private readonly words: Uint32Array;
  private lo = 0;
  private hi = -1;

  constructor(size: number) {
    this.words = new Uint32Array(Math.max(1, Math.ceil(size / 32)));
  }

  add(i: number): void {
    const w = i >>> 5;
    this.words[w]! |= 1 << (i & 31);
    if (w > this.hi) this.hi = w;
    while (this.lo < this.words.length && this.words[this.lo] === 0xffffffff) this.lo++;
  }

  remove(i: number): void {
    const w = i >>> 5;
    this.words[w]! &= ~(1 << (i & 31));
    if (w < this.lo) this.lo = w;
    while (this.hi >= 0 && this.words[this.hi] === 0) this.hi--;
  }

  /** A string equal exactly when the sets are equal: lo, then each window word as two UTF-16 units. */
  key(): string {
    return this.lo.toString(36) + ':' + bitsKey(this.words, this.lo, this.hi);
  }
}

/** True when every bit of a is set in b: both are sets of the same size encoded by bitsKey. */
function isSubset(a: string, b: string): boolean {
  for (let c = 0; c < a.length; c++) if ((a.charCodeAt(c) & ~b.charCodeAt(c)) !== 0) return false;
  return true;
}

/** A bitset as a string, two UTF-16 units a word: cheaper for the engine to keep than typed arrays. */
function bitsKey(words: Uint32Array, from: number, to: number): string {
  let s = '';
  for (let w = from; w <= to; w++) {
    const x = words[w]!;
    s += String.fromCharCode(x & 0xffff, x >>> 16);
  }
  return s;
}

/** Identity of an indeterminate op's effect: two with the same class are interchangeable. */
function effectClass(op: Operation): string {
  return op.op + '\u0000' + JSON.stringify(op.input ?? null);
}

/**
 * Searches for a linearization of ops (one key's; 'fail' ops already removed)
 * against model. Deterministic: the same ops and limits give the same answer.
 *
 * Beyond Wing & Gong with Lowe's cache, two reductions keep indeterminate ops from
 * multiplying the search, both sound because such an op may also be left out:
 * - Dominance: the cache is keyed by (state, determinate ops linearized), holding
 *   the sets U of indeterminate ops linearized with it; a configuration whose U is
 *   a superset of a cached one is pruned, since whatever completes it completes the
 *   cached one too. The walk tries determinate calls first and indeterminate ones
 *   only after reaching the frontier (the first return entry), so small U come first.
 * - Symmetry: indeterminate ops with the same kind and input are linearized in
 *   invocation order (an earlier one is available whenever a later one is).
 * And one for reads: a determinate read-only op that is minimal and agrees with the
 * current state can be linearized next without loss (moving it to the front of any
 * completion keeps that completion valid), so it is placed before anything else and
 * never backtracked into alternatives: undoing it undoes the choice before it too.
 *
 * Each frontier is walked in up to three passes, one per class of op: determinate
 * read-only, determinate mutating, indeterminate.
 */
export function searchLinearization<S>(ops: readonly Operation[], model: Model<S>, limits: SearchLimits): SearchResult<S> {
  const n = ops.length;
  assert(limits.stepsMax > 0 && limits.cacheEntriesMax > 0, 'search limits must be positive');
  // Node 0 is the head sentinel; op i has call node 2i+1 and return node 2i+2.
  const nodeCount = 2 * n + 1;
  const next = new Int32Array(nodeCount).fill(-1);
  const prev = new Int32Array(nodeCount).fill(-1);
  const time = new Float64Array(nodeCount);
  const order = new Array<number>(2 * n);
  // rank[i]: op i's index among the determinate ops, or among the indeterminate ones.
  const indeterminate = new Uint8Array(n);
  const passOf = new Uint8Array(n); // the pass in which op i may be linearized
  const PASS_READS = 0;
  const PASS_INDETERMINATE = 2;
  const rank = new Int32Array(n);
  let determinateCount = 0;
  let indeterminateCount = 0;
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    assert(op.outcome !== 'fail', 'failed ops must be removed before the search');
    indeterminate[i] = op.outcome === 'unknown' ? 1 : 0;
    passOf[i] = indeterminate[i] === 1 ? PASS_INDETERMINATE : model.readOnly(op) ? PASS_READS : 1;
    rank[i] = indeterminate[i] === 1 ? indeterminateCount++ : determinateCount++;
    time[2 * i + 1] = op.invokeTime;
    time[2 * i + 2] = returnTime(op);
    order[2 * i] = 2 * i + 1;
    order[2 * i + 1] = 2 * i + 2;
  }
  // Time order; at equal times calls come first, so touching intervals count as concurrent.
  order.sort((a, b) => time[a]! - time[b]! || (b & 1) - (a & 1) || a - b);
  let last = 0;
  // twinBefore[i]: the indeterminate op with op i's effect invoked just before it, or -1.
  const twinBefore = new Int32Array(n).fill(-1);
  const lastOfClass = new Map<string, number>();
  for (const node of order) {
    next[last] = node;
    prev[node] = last;
    last = node;
    const i = (node - 1) >> 1;
    if (node & 1 && indeterminate[i] === 1) {
      const cls = effectClass(ops[i]!);
      twinBefore[i] = lastOfClass.get(cls) ?? -1;
      lastOfClass.set(cls, i);
    }
  }

  const lift = (call: number): void => {
    const ret = call + 1;
    next[prev[call]!] = next[call]!;
    prev[next[call]!] = prev[call]!; // a call always has its return after it
    next[prev[ret]!] = next[ret]!;
    if (next[ret] !== -1) prev[next[ret]!] = prev[ret]!;
  };
  const unlift = (call: number): void => {
    const ret = call + 1;
    if (next[ret] !== -1) prev[next[ret]!] = ret;
    next[prev[ret]!] = ret;
    prev[next[call]!] = call;
    next[prev[call]!] = call;
  };

  const determinateDone = new OpSet(determinateCount);
  const indeterminateDone = new Uint32Array(Math.ceil(indeterminateCount / 32));
  const isDone = (i: number): boolean =>
    indeterminate[i] === 1 ? (indeterminateDone[rank[i]! >>> 5]! & (1 << (rank[i]! & 31))) !== 0 : false;
  const setDone = (i: number, on: boolean): void => {
    const r = rank[i]!;
    if (indeterminate[i] === 0) {
      if (on) determinateDone.add(r);
      else determinateDone.remove(r);
    } else if (on) indeterminateDone[r >>> 5]! |= 1 << (r & 31);
    else indeterminateDone[r >>> 5]! &= ~(1 << (r & 31));
  };
  // States are numbered; a step already taken from a numbered state is looked up, not recomputed.
  const stateIds = new Map<StateKey, number>();
  const states: S[] = [];
  const stateId = (st: S): number => {
    const k = model.key(st);
    let id = stateIds.get(k);
    if (id === undefined) {
      stateIds.set(k, (id = states.length));
      states.push(st);
    }
    return id;
  };
  const transitions = new Map<number, number>(); // sid * n + op -> next sid, or -1 when the model refuses
  /** The state id after op i from state id sid, or -1 if the op cannot happen there. */
  const stepFrom = (sid: number, i: number): number => {
    const k = sid * n + i;
    let to = transitions.get(k);
    if (to === undefined) {
      const r = model.step(states[sid]!, ops[i]!);
      to = r.ok ? stateId(r.state) : -1;
      if (transitions.size >= TRANSITIONS_CACHED_MAX) transitions.clear();
      transitions.set(k, to);
    }
    return to;
  };

  // (state, determinate set) -> the indeterminate set(s) seen with it, none a superset of another.
  const cache = new Map<string, string | string[]>();
  let cacheEntries = 0;
  /** Records the current configuration; false when it or a configuration dominating it was seen. */
  const remember = (memo: string): boolean => {
    const u = indeterminateCount === 0 ? '' : bitsKey(indeterminateDone, 0, indeterminateDone.length - 1);
    const seen = cache.get(memo);
    if (seen === undefined) {
      cache.set(memo, u);
      cacheEntries++;
      return true;
    }
    const list = typeof seen === 'string' ? [seen] : seen;
    for (const v of list) if (isSubset(v, u)) return false;
    const kept = list.filter((v) => !isSubset(u, v));
    cacheEntries += 1 + kept.length - list.length;
    kept.push(u);
    cache.set(memo, kept);
    return true;
  };

  const stack = new Int32Array(n);
  const stateBefore = new Int32Array(n); // state ids
  let depth = 0;
  let state = stateId(model.init());
  let steps = 0;
  // The deepest stuck point, kept cheaply; the report is built from it at the end.
  let stuckDepth = -1;
  let stuckPrefix = new Int32Array(0);
  let stuckState = state;
  let stuckReturn = -1;
  const now = limits.now ?? (() => performance.now());
  const stuckNow = (): Stuck<S> | undefined => {
    if (stuckReturn < 0) return undefined;
    const inPrefix = new Uint8Array(n);
    for (const i of stuckPrefix) inPrefix[i] = 1;
    const pending: number[] = [];
    for (const node of order) {
      if (node === stuckReturn) break;
      if (node & 1 && inPrefix[(node - 1) >> 1] === 0) pending.push((node - 1) >> 1);
    }
    return { prefix: Array.from(stuckPrefix), state: states[stuckState]!, blocked: (stuckReturn - 2) >> 1, pending };
  };

  const lastPass = indeterminateCount > 0 ? PASS_INDETERMINATE : PASS_INDETERMINATE - 1;
  let pass = PASS_READS;
  let entry = next[0]!;
  search: while (entry !== -1) {
    steps++;
    if (steps > limits.stepsMax) return { verdict: 'unknown', steps, reason: 'steps', stuck: stuckNow() };
    if (limits.deadlineMs !== undefined && steps % CLOCK_CHECK_INTERVAL_STEPS === 0 && now() > limits.deadlineMs) {
      return { verdict: 'unknown', steps, reason: 'time', stuck: stuckNow() };
    }
    let dead = false;
    if (entry & 1) {
      // A call entry: try to linearize its op here.
      const i = (entry - 1) >> 1;
      const eligible = passOf[i] === pass && (pass !== PASS_INDETERMINATE || twinBefore[i] === -1 || isDone(twinBefore[i]!));
      if (eligible) {
        const to = stepFrom(state, i);
        if (to >= 0) {
          setDone(i, true);
          if (remember(to.toString(36) + '/' + determinateDone.key())) {
            if (cacheEntries > limits.cacheEntriesMax) return { verdict: 'unknown', steps, reason: 'cache', stuck: stuckNow() };
            stack[depth] = i;
            stateBefore[depth] = state;
            depth++;
            state = to;
            lift(entry);
            entry = next[0]!;
            pass = PASS_READS;
            continue;
          }
          setDone(i, false);
          // A read placed here leads to a configuration already explored: so does this one.
          dead = pass === PASS_READS;
        }
      }
      if (!dead) {
        entry = next[entry]!;
        continue;
      }
    } else {
      // A return entry: the frontier.
      const i = (entry - 2) >> 1;
      if (indeterminate[i] === 1) break; // every determinate op is placed
      if (pass < lastPass) {
        pass++;
        entry = next[0]!;
        continue;
      }
      // Its op's interval ended before it could be placed.
      if (depth > stuckDepth) {
        stuckDepth = depth;
        stuckPrefix = stack.slice(0, depth);
        stuckState = state;
        stuckReturn = entry;
      }
    }
    // Undo the last choice, and the reads placed for free after it.
    for (;;) {
      if (depth === 0) return { verdict: false, steps, stuck: stuckNow()! };
      depth--;
      const j = stack[depth]!;
      state = stateBefore[depth]!;
      setDone(j, false);
      unlift(2 * j + 1);
      if (passOf[j] !== PASS_READS) {
        entry = next[2 * j + 1]!;
        pass = passOf[j]!;
        continue search;
      }
    }
  }
  return { verdict: true, steps, linearization: Array.from(stack.subarray(0, depth)) };
}
