import { RaftdError } from '../util/errors.js';

/**
 * A client sent bytes that are not a RESP request (or one past a bound). The message
 * is Redis' wording ("Protocol error: ..."); the gateway answers `-ERR <message>` and
 * closes the connection. Bound violations carry RAFTD_FRAME_TOO_LARGE, the rest
 * RAFTD_FRAME_MALFORMED.
 */
export class RespProtocolError extends RaftdError {
  constructor(code: 'RAFTD_FRAME_MALFORMED' | 'RAFTD_FRAME_TOO_LARGE', detail: string) {
    super(code, `Protocol error: ${detail}`);
    this.name = 'RespProtocolError';
  }
}
