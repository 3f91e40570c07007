/**
 * Errors of the operations tool, each with a stable code. The CLI prints them as one
 * line (`raft-cluster: CODE: message`), never as a stack trace.
 */
export type OpsErrorCode =
  | 'OPS_CONFIG'
  | 'OPS_ALREADY_RUNNING'
  | 'OPS_NOT_RUNNING'
  | 'OPS_NO_BUILD'
  | 'OPS_START_FAILED'
  | 'OPS_EXEC_FAILED'
  | 'OPS_UPLOAD_FAILED'
  | 'OPS_NO_LEADER'
  | 'OPS_TIMEOUT';

export class OpsError extends Error {
  constructor(
    readonly code: OpsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'OpsError';
  }
}
