// The membership nemesis' moves, through the client port as an operator makes them:
// CLUSTER REMOVE a node and CLUSTER ADD it back later (it keeps its data and catches up,
// a learner until the leader promotes it), or replace a node by a fresh one (kill -9,
// remove, wipe its data directory, start it empty with --join: it catches up by
// snapshot). Every move is undone by ensureVoter(), which is idempotent and checks
// CLUSTER MEMBERS first, so a change whose outcome was unknown is never made twice.
import * as fs from 'node:fs';
import { RespError, type RespValue } from '../../lib/client/resp-client.js';
import { commandWithin } from './probe.js';
import type { Nodes } from './nodes.js';

/** How long a heal may keep trying (a majority may be down or cut off meanwhile). */
const ENSURE_TIMEOUT_MS = 60_000;
const RETRY_MS = 250;
const COMMAND_TIMEOUT_MS = 5000;

interface Row {
  id: string;
  voter: boolean;
}

export class MemberOps {
  constructor(private readonly nodes: Nodes) {}

  private async command(via: string, args: (string | number)[]): Promise<RespValue | Error> {
    try {
      return (await commandWithin(this.nodes.endpoint(via), args, COMMAND_TIMEOUT_MS)) as RespValue;
    } catch (err) {
      return err as Error;
    }
  }

  /** Live nodes, the leader first (it answers membership commands without a hop). */
  private async vias(except: string): Promise<string[]> {
    const leader = await this.nodes.leader();
    const live = this.nodes.ids.filter((id) => id !== except && this.nodes.live(id));
    return leader !== null && leader !== except ? [leader, ...live.filter((id) => id !== leader)] : live;
  }

  /** CLUSTER MEMBERS as the leader sees it, or null when no leader answers. */
  private async members(except: string): Promise<Row[] | null> {
    const leader = await this.nodes.leader();
    if (leader === null || leader === except) return null;
    const r = await this.command(leader, ['CLUSTER', 'MEMBERS']);
    if (!Array.isArray(r)) return null;
    return r.map((row) => {
      const x = row as Buffer[];
      return { id: x[0]!.toString('utf8'), voter: x[4]!.toString('utf8') === 'voter' };
    });
  }

  /** CLUSTER REMOVE until the leader's configuration no longer has `id`; throws when it cannot. */
  async remove(id: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no leader';
    while (Date.now() < deadline) {
      const ms = await this.members(id);
      if (ms !== null && !ms.some((m) => m.id === id)) return;
      if (ms !== null && ms.filter((m) => m.voter).length <= 3) throw new Error(`not removing ${id}: only ${ms.filter((m) => m.voter).length} voters left`);
      for (const via of (await this.vias(id)).slice(0, 1)) {
        const r = await this.command(via, ['CLUSTER', 'REMOVE', id]);
        last = r instanceof RespError || r instanceof Error ? r.message : String(r);
      }
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
    throw new Error(`CLUSTER REMOVE ${id}: ${last}`);
  }

  /**
   * Makes `id` a voter again: CLUSTER ADD if the configuration lacks it (the leader
   * promotes it once caught up), then waits for the promotion. Bounded; returns why not.
   */
  async ensureVoter(id: string, timeoutMs = ENSURE_TIMEOUT_MS): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    const n = this.nodes.node(id);
    let last = 'no leader';
    while (Date.now() < deadline) {
      const ms = await this.members(id);
      const me = ms?.find((m) => m.id === id);
      if (me?.voter === true) return null;
      if (ms !== null && me === undefined) {
        const [via] = await this.vias(id);
        if (via !== undefined) {
          const r = await this.command(via, ['CLUSTER', 'ADD', id, n.host, n.peerPort, n.clientPort]);
          last = r instanceof RespError || r instanceof Error ? r.message : String(r);
        }
      } else if (me !== undefined) last = `${id} is a learner, catching up`;
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
    return `${id} not a voter after ${timeoutMs} ms: ${last}`;
  }

  /**
   * A fresh node in place of `id`: from now on it starts with --join (ignored once it has
   * joined, as the daemon ignores --join with a data directory), with an empty data directory.
   */
  async wipeAndJoinNext(id: string): Promise<void> {
    const n = this.nodes.node(id);
    fs.rmSync(n.dataDir, { recursive: true, force: true });
    const c = this.nodes.cluster;
    const seed = (await this.vias(id))[0] ?? this.nodes.ids.find((x) => x !== id)!;
    const s = this.nodes.node(seed);
    c.opts.nodeArgs ??= {};
    const base = c.opts.nodeArgs[id] ?? c.opts.extraArgs ?? [];
    c.opts.nodeArgs[id] = [...base.filter((_, i, a) => !(a[i] === '--join' || a[i - 1] === '--join')), '--join', `${s.host}:${s.clientPort}`];
  }
}
