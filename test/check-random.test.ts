import t from 'tap';
import { checkHistory, registerModel, type Operation, type OpKind, type Outcome, type RegisterState } from '../lib/check/index.js';
import { Prng } from './sim/prng.js';

interface GenOptions {
  readonly ops: number;
  readonly processes: number;
  readonly keys: readonly string[];
  /** Longest gap between invocation and effect, and between effect and completion. */
  readonly windowMax: number;
  readonly unknownP: number;
}

interface Planned {
  process: number;
  key: string;
  op: OpKind;
  input?: string;
  invokeTime: number;
  effectTime: number;
  completeTime: number;
  outcome: Outcome;
  applies: boolean;
}

const KINDS: readonly OpKind[] = ['read', 'read', 'read', 'read', 'write', 'write', 'append', 'incr', 'incr', 'delete'];

/**
 * A history from a real sequential execution: every op takes effect at one instant
 * inside its window (an indeterminate op possibly long after its client gave up, or
 * never), and outputs are what the model returns in effect order.
 */
function generate(rng: Prng, g: GenOptions): Operation[] {
  const freeAt = new Array<number>(g.processes).fill(0);
  const procId = Array.from({ length: g.processes }, (_, i) => i);
  let nextProc = g.processes;
  const planned: Planned[] = [];
  for (let n = 0; n < g.ops; n++) {
    const slot = rng.int(0, g.processes - 1);
    const invokeTime = freeAt[slot]! + rng.next() * g.windowMax;
    const op = rng.pick(KINDS);
    const unknown = op !== 'read' && rng.chance(g.unknownP);
    let effectTime = invokeTime + rng.next() * g.windowMax;
    const completeTime = effectTime + rng.next() * g.windowMax;
    if (unknown && rng.chance(0.5)) effectTime += rng.next() * g.windowMax * 20; // took effect after the timeout
    const input = op === 'write' ? String(rng.int(0, 9)) : op === 'append' ? rng.pick(['1', '2', 'a', 'b']) : undefined;
    planned.push({
      process: procId[slot]!,
      key: rng.pick(g.keys),
      op,
      input,
      invokeTime,
      effectTime,
      completeTime,
      outcome: unknown ? 'unknown' : 'ok',
      applies: !unknown || rng.chance(0.5),
    });
    freeAt[slot] = completeTime;
    if (unknown) procId[slot] = nextProc++; // Jepsen retires a client after an indeterminate op
  }
  const state = new Map<string, RegisterState>();
  const outputs = new Map<Planned, Operation>();
  for (const p of [...planned].sort((a, b) => a.effectTime - b.effectTime)) {
    const base = { process: p.process, key: p.key, op: p.op, input: p.input, invokeTime: p.invokeTime, completeTime: p.completeTime };
    const before = state.get(p.key) ?? null;
    const r = registerModel.step(before, { ...base, outcome: 'unknown' });
    if (!r.ok) {
      // INCR of a non-integer: Redis answers an error, nothing happens.
      outputs.set(p, { ...base, outcome: p.outcome === 'unknown' ? 'unknown' : 'fail' });
      continue;
    }
    if (p.applies) state.set(p.key, r.state);
    if (p.outcome === 'unknown') {
      outputs.set(p, { ...base, outcome: 'unknown' });
      continue;
    }
    const output =
      p.op === 'read' ? before : p.op === 'incr' ? Number(r.state) : p.op === 'delete' ? (before === null ? 0 : 1) : undefined;
    outputs.set(p, { ...base, output, outcome: 'ok' });
  }
  return planned.map((p) => outputs.get(p)!);
}

/** Exhaustive search over orders, for tiny histories: the reference the checker must agree with. */
function bruteForce(history: readonly Operation[]): boolean {
  const ops = history.filter((op) => op.outcome === 'ok' || (op.outcome === 'unknown' && op.op !== 'read'));
  const used = new Array<boolean>(ops.length).fill(false);
  const mustPlace = ops.filter((op) => op.outcome === 'ok').length;
  const rec = (state: RegisterState, placed: number): boolean => {
    if (placed === mustPlace) return true;
    for (let i = 0; i < ops.length; i++) {
      if (used[i]) continue;
      const op = ops[i]!;
      const blocked = ops.some((o, j) => !used[j] && o.outcome === 'ok' && (o.completeTime as number) < op.invokeTime);
      if (blocked) continue;
      const r = registerModel.step(state, op);
      if (!r.ok) continue;
      used[i] = true;
      const found = rec(r.state, placed + (op.outcome === 'ok' ? 1 : 0));
      used[i] = false;
      if (found) return true;
    }
    return false;
  };
  return rec(null, 0);
}

/** Tiny histories with arbitrary outputs, linearizable or not. */
function arbitrary(rng: Prng, n: number): Operation[] {
  const ops: Operation[] = [];
  for (let i = 0; i < n; i++) {
    const op = rng.pick(KINDS);
    const invokeTime = rng.int(0, 10);
    const outcome: Outcome = op !== 'read' && rng.chance(0.25) ? 'unknown' : 'ok';
    const value = () => rng.pick([null, '1', '2', '12', 'a', '1a']);
    const input = op === 'write' ? rng.pick(['1', '2', 'a']) : op === 'append' ? rng.pick(['1', '2', 'a']) : undefined;
    const output =
      outcome !== 'ok' ? undefined : op === 'read' ? value() : op === 'incr' ? rng.int(1, 3) : op === 'delete' ? rng.int(0, 1) : undefined;
    ops.push({ process: i, key: 'k', op, input, output, invokeTime, completeTime: invokeTime + rng.int(0, 6), outcome });
  }
  return ops;
}

const SEED = Number(process.env['RAFT_CHECK_SEED'] ?? 1);

t.test('generated executions are accepted; one corrupted read is rejected', async (t) => {
  const rng = new Prng(SEED);
  const cases = 3000;
  let rejected = 0;
  let namedExactly = 0;
  let unknownOps = 0;
  for (let c = 0; c < cases; c++) {
    const g: GenOptions = {
      ops: rng.int(1, 60),
      processes: rng.int(1, 8),
      keys: ['k1', 'k2', 'k3'].slice(0, rng.int(1, 3)),
      windowMax: rng.pick([0.5, 2, 10]),
      unknownP: rng.pick([0, 0.05, 0.2]),
    };
    const h = generate(rng, g);
    unknownOps += h.filter((op) => op.outcome === 'unknown').length;
    const res = checkHistory(h);
    if (res.ok !== true) {
      t.fail(`case ${c} (seed ${SEED}) rejected a linearizable history:\n${res.report}`);
      return;
    }
    const reads = h.map((op, i) => [op, i] as const).filter(([op]) => op.op === 'read' && op.outcome === 'ok');
    if (reads.length === 0) continue;
    const [victim, at] = rng.pick(reads);
    const corrupt = { ...victim, output: `never!${c}` };
    const bad = h.map((op, i) => (i === at ? corrupt : op));
    const verdict = checkHistory(bad);
    if (verdict.ok !== false) {
      t.fail(`case ${c} (seed ${SEED}) accepted a read of a value never written: ${verdict.report}`);
      return;
    }
    rejected++;
    t.equal(verdict.key, corrupt.key);
    if (verdict.failure!.blocked === corrupt) namedExactly++;
    if (!verdict.report.includes(`never!${c}`)) {
      t.fail(`case ${c}: the report does not show the corrupted read:\n${verdict.report}`);
      return;
    }
  }
  t.ok(rejected > cases / 2, `${rejected} corrupted histories rejected`);
  t.ok(unknownOps > 1000, `${unknownOps} indeterminate ops exercised`);
  t.comment(`the corrupted read was the offending op in ${namedExactly}/${rejected} reports`);
});

t.test('agrees with an exhaustive search on tiny arbitrary histories', async (t) => {
  const rng = new Prng(SEED + 1000);
  let yes = 0;
  let no = 0;
  for (let c = 0; c < 10000; c++) {
    const h = arbitrary(rng, rng.int(1, 8));
    const expected = bruteForce(h);
    const got = checkHistory(h).ok;
    if (got !== expected) {
      t.fail(`case ${c}: checker says ${String(got)}, exhaustive search ${String(expected)}\n${JSON.stringify(h)}`);
      return;
    }
    if (expected) yes++;
    else no++;
  }
  t.ok(yes > 200 && no > 200, `both verdicts exercised: ${yes} linearizable, ${no} not`);
});

t.test('5000 ops, 10 processes, one key: accepted within the step budget (time is reported, not asserted)', async (t) => {
  const rng = new Prng(SEED + 7);
  for (const unknownP of [0, 0.02]) {
    const h = generate(rng, { ops: 5000, processes: 10, keys: ['k1'], windowMax: 2, unknownP });
    const start = performance.now();
    const res = checkHistory(h);
    const ms = performance.now() - start;
    t.equal(res.ok, true, res.report);
    t.comment(
      `${h.length} ops (${h.filter((o) => o.outcome === 'unknown').length} indeterminate): ` +
        `${ms.toFixed(1)} ms, ${Math.round(h.length / (ms / 1000))} ops/s, ${res.keys[0]!.steps} steps`,
    );
  }
});
