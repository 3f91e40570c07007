// The linearizability checker's public surface.
export { checkHistory, checkKey, searchableOps, CHECK_DEFAULTS } from './check.js';
export type { CheckOptions, CheckResult, KeyVerdict, Verdict } from './check.js';
export { partitionByKey, returnTime, validateOp } from './history.js';
export type { Datum, History, Operation, OpKind, Outcome, Scalar } from './history.js';
export { listModel } from './list-model.js';
export type { ListState } from './list-model.js';
export { parseRedisInteger, registerModel } from './model.js';
export type { Model, RegisterState, StateKey, StepResult } from './model.js';
export { formatDatum, formatFailure, formatOp } from './report.js';
export type { Failure, FormatOptions, ReportOptions, TimeUnit } from './report.js';
export { searchLinearization } from './wgl.js';
export type { GiveUpReason, SearchLimits, SearchResult, Stuck } from './wgl.js';
