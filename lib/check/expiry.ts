// Expiry against real time, for keys each written once with `SET k v PX ttl` and then
// only read. A register model cannot judge these (a key vanishes by the clock, not by
// an op), so the bounds follow from the README's guarantee instead. With every node's
// clock within [minOffset, maxOffset] of true time (skew = max - min):
// - the deadline is stamped by the leader when it proposes the SET, so it lies in
//   [setInvoke + ttl + minOffset, setComplete + ttl + maxOffset] (a lagging stamp is
//   raised to the state machine's time, itself never ahead of the fastest clock);
// - a read finds the key gone once max(its node's clock, the state machine's time)
//   reaches the deadline. So a read invoked after setComplete + ttl + skew never sees
//   the value (late), and a read that completed before setInvoke + ttl - skew, after
//   the SET was acknowledged, never finds it gone (early);
// - with no skew, gone is for good: no read that starts after another found the key
//   gone sees it again (with skew, the bounds above are all that holds across nodes).
// Only acknowledged SETs are judged: an indeterminate one may be applied at any time.
import type { Operation } from './history.js';

export interface ExpiryCheckOptions {
  /** Each SET's time to live, by key. */
  readonly ttlMsOf: (key: string) => number | undefined;
  /** Largest minus smallest clock offset of the nodes. */
  readonly skewMs: number;
  /** Slack for how far a node's clock reading may lag (it reads it once a tick) and ms rounding. */
  readonly slackMs: number;
}

export interface ExpiryViolation {
  readonly key: string;
  readonly kind: 'late' | 'early' | 'resurrected' | 'wrong-value';
  readonly text: string;
}

export interface ExpiryResult {
  readonly keys: number;
  readonly reads: number;
  readonly violations: readonly ExpiryViolation[];
}

/** Checks the ops on expiring keys (a write with a ttl, then reads); other ops are ignored. */
export function checkExpiry(ops: readonly Operation[], o: ExpiryCheckOptions): ExpiryResult {
  const byKey = new Map<string, { set?: Operation; reads: Operation[] }>();
  for (const op of ops) {
    if (o.ttlMsOf(op.key) === undefined) continue;
    let e = byKey.get(op.key);
    if (e === undefined) byKey.set(op.key, (e = { reads: [] }));
    if (op.op === 'write') e.set = op;
    else if (op.op === 'read' && op.outcome === 'ok') e.reads.push(op);
  }
  const violations: ExpiryViolation[] = [];
  let keys = 0;
  let reads = 0;
  const at = (ms: number) => `${(ms / 1000).toFixed(3)}s`;
  for (const [key, { set, reads: rs }] of byKey) {
    if (set === undefined || set.outcome !== 'ok') continue;
    keys++;
    reads += rs.length;
    const ttl = o.ttlMsOf(key)!;
    const setDone = set.completeTime as number;
    const lateAfter = setDone + ttl + o.skewMs + o.slackMs;
    const earlyBefore = set.invokeTime + ttl - o.skewMs - o.slackMs;
    for (const r of rs) {
      const done = r.completeTime as number;
      if (r.output !== null && r.output !== set.input) {
        violations.push({ key, kind: 'wrong-value', text: `read at ${at(r.invokeTime)} saw ${JSON.stringify(r.output)}, written ${JSON.stringify(set.input)}` });
      } else if (r.output !== null && r.invokeTime > lateAfter) {
        violations.push({ key, kind: 'late', text: `read at ${at(r.invokeTime)} still saw it; SET PX ${ttl} acknowledged at ${at(setDone)}, skew ${o.skewMs} ms: gone by ${at(lateAfter)}` });
      } else if (r.output === null && r.invokeTime > setDone && done < earlyBefore) {
        violations.push({ key, kind: 'early', text: `read ${at(r.invokeTime)}..${at(done)} found it gone; SET PX ${ttl} invoked at ${at(set.invokeTime)}, skew ${o.skewMs} ms: alive until ${at(earlyBefore)}` });
      }
    }
    if (o.skewMs === 0) {
      // The earliest completion of a read that found the key gone after the SET was acknowledged.
      let goneBy = Infinity;
      for (const r of rs) if (r.output === null && r.invokeTime > setDone) goneBy = Math.min(goneBy, r.completeTime as number);
      for (const r of rs) {
        if (r.output !== null && r.invokeTime > goneBy) {
          violations.push({ key, kind: 'resurrected', text: `read at ${at(r.invokeTime)} saw it after a read found it gone by ${at(goneBy)}` });
        }
      }
    }
  }
  return { keys, reads, violations };
}
