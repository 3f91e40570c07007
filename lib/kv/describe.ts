// One log entry as a line of text, for `raftd --dump-log`: a command as redis-cli would
// echo it (`SET key "a\x00b"`), ADDENTRY's data as the dump always printed it, a noop
// as nothing; a stamped write ends with `@<ms>`, a transaction shows as
// `EXEC WATCHED "k"@<version> [CMD ...; CMD ...]`. Data that is not an encoded command
// (a log written before the key-value store) is printed like ADDENTRY's data.
import type { Entry } from '../raft/types.js';
import { assertNever } from '../util/assert.js';
import { decodeWrite, type KvWrite } from './entry-codec.js';

const CONTROL = /\p{Cc}/u;
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export function describeEntry(entry: Entry): string {
  switch (entry.kind) {
    case 'noop':
      return '';
    case 'config':
      return `CONFIG ${Buffer.from(entry.data).toString('utf8')}`;
    case 'normal': {
      let write: KvWrite;
      try {
        write = decodeWrite(entry.data);
      } catch {
        return dataText(entry.data);
      }
      const stamp = write.stampMs === null ? '' : ` @${write.stampMs}`;
      if (write.body.kind === 'exec') {
        const watched = write.body.watched.map((k) => `${quote(k.key)}@${k.version}`).join(' ');
        return `EXEC${watched === '' ? '' : ` WATCHED ${watched}`} [${write.body.commands.map(commandLine).join('; ')}]${stamp}`;
      }
      const args = write.body.args;
      if (args.length === 2 && args[0]!.toString('latin1') === 'addentry') return dataText(args[1]!);
      return commandLine(args) + stamp;
    }
    default:
      return assertNever(entry.kind, 'entry kind');
  }
}

/** Raw data as text when that is unambiguous (valid UTF-8, no control characters, no `base64:` prefix), else `base64:<...>`. */
export function dataText(data: Uint8Array): string {
  const b64 = (): string => 'base64:' + Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  let text: string;
  try {
    text = utf8Strict.decode(data);
  } catch {
    return b64();
  }
  return CONTROL.test(text) || text.startsWith('base64:') ? b64() : text;
}

/** The name in upper case, then the arguments; any that would not survive redis-cli's splitting are quoted. */
export function commandLine(args: readonly Buffer[]): string {
  return args
    .map((a, i) => {
      if (!bare(a)) return quote(a);
      const s = a.toString('latin1');
      return i === 0 ? s.toUpperCase() : s;
    })
    .join(' ');
}

/** Printable ASCII without spaces, quotes or backslashes, and not empty. */
function bare(a: Buffer): boolean {
  if (a.length === 0) return false;
  for (const c of a) {
    if (c <= 0x20 || c >= 0x7f || c === 0x22 || c === 0x27 || c === 0x5c) return false;
  }
  return true;
}

/** Redis' sdscatrepr: "..." with \\ \" \n \r \t \a \b and \xHH for other unprintable bytes. */
export function quote(a: Uint8Array): string {
  let s = '"';
  for (const c of a) {
    switch (c) {
      case 0x5c:
        s += '\\\\';
        break;
      case 0x22:
        s += '\\"';
        break;
      case 0x0a:
        s += '\\n';
        break;
      case 0x0d:
        s += '\\r';
        break;
      case 0x09:
        s += '\\t';
        break;
      case 0x07:
        s += '\\a';
        break;
      case 0x08:
        s += '\\b';
        break;
      default:
        s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '\\x' + c.toString(16).padStart(2, '0');
    }
  }
  return s + '"';
}
