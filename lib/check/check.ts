// Checks a whole history: partitions it by key and searches each key on its own
// (linearizability is compositional), then combines the verdicts.
import { assert } from '../util/assert.js';
import { partitionByKey, validateOp, type History, type Operation } from './history.js';
import { registerModel, type Model } from './model.js';
import { formatFailure, type Failure, type ReportOptions, type TimeUnit } from './report.js';
import { searchLinearization, type GiveUpReason, type Stuck } from './wgl.js';

/** true: linearizable; false: not; 'unknown': a budget ran out first. */
export type Verdict = boolean | 'unknown';

export interface CheckOptions {
  /** The sequential specification; the register-with-append by default. */
  readonly model?: Model<unknown>;
  /**
   * A model per key, for a history over keys of different types (registers and lists);
   * keys it returns undefined for get `model`.
   */
  readonly modelFor?: (key: string) => Model<unknown> | undefined;
  /** Search steps per key before that key's verdict is 'unknown'. */
  readonly stepsMax?: number;
  /** Memoized configurations per key before that key's verdict is 'unknown'. */
  readonly cacheEntriesMax?: number;
  /** Wall-clock budget for the whole history; keys left when it runs out are 'unknown'. */
  readonly timeBudgetMs?: number;
  /** The clock for timeBudgetMs, in ms; performance.now by default. */
  readonly now?: () => number;
  /** The unit of the history's times, for the report. */
  readonly timeUnit?: TimeUnit;
  readonly contextOps?: number;
}

export const CHECK_DEFAULTS = {
  stepsMax: 10_000_000,
  cacheEntriesMax: 2_000_000,
} as const;

export interface KeyVerdict {
  readonly key: string;
  readonly ok: Verdict;
  /** Ops searched: the key's ops minus failed ones and indeterminate reads. */
  readonly opCount: number;
  readonly steps: number;
  readonly reason?: GiveUpReason;
  readonly failure?: Failure;
}

export interface CheckResult {
  readonly ok: Verdict;
  /** The first key (in history order) that is not linearizable, else the first that is 'unknown'. */
  readonly key?: string;
  readonly failure?: Failure;
  readonly keys: readonly KeyVerdict[];
  /** A readable summary; on failure the stretch of ops around the stuck point. */
  readonly report: string;
}

/** The ops of one key the search must consider. */
export function searchableOps(ops: readonly Operation[], model: Model<unknown>): Operation[] {
  return ops.filter((op) => op.outcome === 'ok' || (op.outcome === 'unknown' && !model.readOnly(op)));
}

function toFailure(key: string, ops: readonly Operation[], stuck: Stuck<unknown>, model: Model<unknown>): Failure {
  const pending = stuck.pending.map((i) => ops[i]!);
  return {
    key,
    prefix: stuck.prefix.map((i) => ops[i]!),
    stateShown: model.show(stuck.state),
    blocked: ops[stuck.blocked]!,
    pending,
    pendingFits: pending.map((op) => model.step(stuck.state, op).ok),
  };
}

/** Checks one key's ops (all with that key). */
export function checkKey(key: string, ops: readonly Operation[], options: CheckOptions = {}, deadlineMs?: number): KeyVerdict {
  const model = options.model ?? (registerModel as Model<unknown>);
  const searched = searchableOps(ops, model);
  const result = searchLinearization(searched, model, {
    stepsMax: options.stepsMax ?? CHECK_DEFAULTS.stepsMax,
    cacheEntriesMax: options.cacheEntriesMax ?? CHECK_DEFAULTS.cacheEntriesMax,
    deadlineMs,
    now: options.now,
  });
  const base = { key, opCount: searched.length, steps: result.steps };
  switch (result.verdict) {
    case true:
      return { ...base, ok: true };
    case false:
      return { ...base, ok: false, failure: toFailure(key, searched, result.stuck, model) };
    case 'unknown':
      return { ...base, ok: 'unknown', reason: result.reason };
  }
}

/** Checks a history for linearizability against options.model, key by key. */
export function checkHistory(history: History, options: CheckOptions = {}): CheckResult {
  const fallback = options.model ?? (registerModel as Model<unknown>);
  const modelOf = (key: string): Model<unknown> => options.modelFor?.(key) ?? fallback;
  history.forEach((op, i) => {
    validateOp(op, i);
    const why = modelOf(op.key).invalid(op);
    assert(why === undefined, `history[${i}]: ${why}`);
  });
  const now = options.now ?? (() => performance.now());
  const deadlineMs = options.timeBudgetMs === undefined ? undefined : now() + options.timeBudgetMs;
  const keys: KeyVerdict[] = [];
  for (const [key, ops] of partitionByKey(history)) {
    if (deadlineMs !== undefined && now() > deadlineMs) {
      keys.push({ key, ok: 'unknown', opCount: ops.length, steps: 0, reason: 'time' });
      continue;
    }
    keys.push(checkKey(key, ops, { ...options, model: modelOf(key), now }, deadlineMs));
  }

  let originTime = Infinity;
  for (const op of history) originTime = Math.min(originTime, op.invokeTime);
  const reportOptions: ReportOptions = {
    originTime: Number.isFinite(originTime) ? originTime : 0,
    timeUnit: options.timeUnit,
    contextOps: options.contextOps,
  };
  const bad = keys.find((k) => k.ok === false);
  if (bad !== undefined) {
    return { ok: false, key: bad.key, failure: bad.failure, keys, report: formatFailure(bad.failure!, reportOptions) };
  }
  const undecided = keys.filter((k) => k.ok === 'unknown');
  if (undecided.length > 0) {
    const report = undecided
      .map((k) => `unknown: key ${JSON.stringify(k.key)} ran out of its ${k.reason} budget after ${k.steps} steps over ${k.opCount} ops`)
      .join('\n');
    return { ok: 'unknown', key: undecided[0]!.key, keys, report };
  }
  const opCount = keys.reduce((sum, k) => sum + k.opCount, 0);
  return { ok: true, keys, report: `linearizable: ${opCount} ops over ${keys.length} key(s)` };
}
