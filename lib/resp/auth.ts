// Client authentication and rights, per connection, as Redis does it: until a
// connection has authenticated (when the ACL requires it), every command but AUTH,
// HELLO (with its AUTH option) and QUIT gets NOAUTH; a user's right decides which
// commands it may run (NOPERM otherwise). Wrong passwords get Redis' WRONGPASS and are
// rate-limited per connection: after a few failures AUTH is refused for a growing
// delay without being checked, and past a bound the connection is closed. Pure apart
// from the clock it is given; the gateway calls gate() before dispatching a command and
// permit() on what the command turned out to be.
import { arityOk, COMMANDS, type CommandOutcome } from './commands.js';
import { atLeast, DEFAULT_USER, passwordMatches, type Acl, type AclUser, type Right } from './acl.js';
import * as w from '../util/resp-writer.js';

export const NOAUTH = 'NOAUTH Authentication required.';
export const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';
const NOAUTH_HELLO =
  'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time';
const AUTH_WITHOUT_PASSWORD =
  'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?';

/** Failures answered at once; later ones wait FAILURE_DELAY_BASE_MS * 2^(n - free), capped. */
export const AUTH_FAILURES_FREE = 3;
const FAILURE_DELAY_BASE_MS = 250;
const FAILURE_DELAY_MAX_MS = 10_000;
/** This many failures on one connection closes it. */
export const AUTH_FAILURES_MAX = 20;

/** Commands a connection may send before it has authenticated. */
const NO_AUTH = new Set(['auth', 'hello', 'quit']);
/** Commands only an admin may run (whatever their outcome). */
const ADMIN = new Set(['flushdb', 'flushall', 'config', 'cluster', 'debug', 'shutdown', 'acl', 'save', 'bgsave', 'monitor', 'replicaof', 'slaveof']);

function lower(b: Buffer): string {
  return b.toString('latin1').toLowerCase();
}

/** The command a line runs: REQ <id> <command> ... runs <command>. */
function effectiveName(args: Buffer[]): string {
  const name = lower(args[0]!);
  return name === 'req' && args.length >= 3 ? lower(args[2]!) : name;
}

export type AuthEvent = { type: 'auth-failed'; user: string; failures: number } | { type: 'auth-ok'; user: string };

export class AuthSession {
  /** Who the connection runs as: the passwordless default user, or whoever AUTHed. */
  private user: AclUser | null;
  private failures = 0;
  private blockedUntilMs = 0;
  /** The last AUTH outcome, for the gateway's log (never holds a password). */
  lastEvent: AuthEvent | null = null;

  constructor(private readonly acl: Acl) {
    this.user = acl.authRequired ? null : acl.users.get(DEFAULT_USER)!;
  }

  get userName(): string | null {
    return this.user?.name ?? null;
  }

  /**
   * Before dispatch. Returns an outcome to answer with instead of running the
   * command, or null to run it (HELLO with a good AUTH option runs after logging in).
   */
  gate(args: Buffer[], nowMs: number): CommandOutcome | null {
    this.lastEvent = null;
    const name = lower(args[0]!);
    if (name === 'auth') return this.auth(args, nowMs);
    if (name === 'hello') {
      const creds = helloCreds(args);
      if (creds) {
        const r = this.login(creds.user, creds.pass, nowMs);
        if (r !== null) return r;
      } else if (this.user === null) {
        return reply(w.error(NOAUTH_HELLO));
      }
      return null;
    }
    // Redis checks that the command exists and its arity before authentication.
    if (this.user === null) return NO_AUTH.has(name) || !knownWithArity(name, args.length) ? null : reply(w.error(NOAUTH));
    const eff = effectiveName(args);
    if (ADMIN.has(eff) && !atLeast(this.user.right, 'admin')) return this.noperm(eff);
    return null;
  }

  /** After dispatch: a command that turned out to write needs the write right. */
  permit(args: Buffer[], outcome: CommandOutcome): CommandOutcome {
    const need: Right | null = outcome.kind === 'write' ? 'write' : null;
    if (need === null || this.user === null || atLeast(this.user.right, need)) return outcome;
    return this.noperm(effectiveName(args));
  }

  private noperm(command: string): CommandOutcome {
    return reply(w.error(`NOPERM User ${this.user!.name} has no permissions to run the '${command.slice(0, 64)}' command`));
  }

  private auth(args: Buffer[], nowMs: number): CommandOutcome {
    if (args.length < 2) return reply(w.error("ERR wrong number of arguments for 'auth' command"));
    if (args.length > 3) return reply(w.error('ERR syntax error'));
    if (args.length === 2) {
      const d = this.acl.users.get(DEFAULT_USER);
      if (!this.acl.authRequired && d?.nopass) return reply(w.error(AUTH_WITHOUT_PASSWORD));
      return this.login(DEFAULT_USER, args[1]!, nowMs) ?? reply(w.OK);
    }
    return this.login(args[1]!.toString('utf8'), args[2]!, nowMs) ?? reply(w.OK);
  }

  /** null on success (now logged in as `user`), else the reply. */
  private login(userName: string, pass: Buffer, nowMs: number): CommandOutcome | null {
    if (nowMs < this.blockedUntilMs) {
      return reply(w.error(`ERR too many failed AUTH attempts on this connection; retry in ${this.blockedUntilMs - nowMs} ms`));
    }
    const u = this.acl.users.get(userName);
    if (u && passwordMatches(u, pass)) {
      this.user = u;
      this.lastEvent = { type: 'auth-ok', user: u.name };
      return null;
    }
    this.failures++;
    this.lastEvent = { type: 'auth-failed', user: userName.slice(0, 64), failures: this.failures };
    if (this.failures >= AUTH_FAILURES_MAX) return { kind: 'close', reply: w.error(WRONGPASS) };
    if (this.failures >= AUTH_FAILURES_FREE) {
      this.blockedUntilMs = nowMs + Math.min(FAILURE_DELAY_MAX_MS, FAILURE_DELAY_BASE_MS * 2 ** (this.failures - AUTH_FAILURES_FREE));
    }
    return reply(w.error(WRONGPASS));
  }
}

/** HELLO <ver> ... AUTH <user> <pass> ...: the credentials, if the option is there. */
function helloCreds(args: Buffer[]): { user: string; pass: Buffer } | null {
  for (let i = 2; i < args.length; i++) {
    const opt = lower(args[i]!);
    if (opt === 'auth' && i + 2 < args.length) return { user: args[i + 1]!.toString('utf8'), pass: args[i + 2]! };
    if (opt === 'setname') i++;
  }
  return null;
}

function knownWithArity(name: string, argc: number): boolean {
  const spec = COMMANDS.get(name);
  return spec !== undefined && arityOk(spec.arity, argc);
}

function reply(buf: Buffer): CommandOutcome {
  return { kind: 'reply', reply: buf };
}
