// The nemesis: one fault at a time, chosen from a seeded PRNG, held for a while, then
// healed, with quiet stretches in between. Faults are the ones Jepsen uses: kill -9 and
// restart (the leader, a random node, a majority, all), SIGSTOP of the leader for longer
// than the election timeout, partitions (isolated leader, random halves, majorities
// ring, bridge) and slow or lossy links; and membership changes (a node removed and
// added back, a node replaced by a fresh empty one that joins). Which node is hit depends on who leads at that
// moment, so a replayed seed makes the same choices of kind, duration and shape but may
// hit other nodes.
import type { Prng } from '../sim/prng.js';
import type { FaultWindow, Recorder } from './history.js';
import type { NetFaults } from './net.js';
import type { Nodes } from './nodes.js';
import { MemberOps } from './membership-faults.js';

export const KILL_FAULTS = ['kill-leader', 'kill-random', 'kill-majority', 'kill-all'] as const;
export const PAUSE_FAULTS = ['pause-leader', 'pause-random'] as const;
export const PARTITION_FAULTS = ['partition-leader', 'partition-halves', 'partition-ring', 'partition-bridge'] as const;
export const LINK_FAULTS = ['slow-links', 'lossy-links'] as const;
/** member-readd: CLUSTER REMOVE a node, ADD it back on heal; member-replace: kill -9, remove, wipe, and on heal start it empty with --join. */
export const MEMBERSHIP_FAULTS = ['member-readd', 'member-replace'] as const;

export type FaultKind =
  | (typeof KILL_FAULTS)[number]
  | (typeof PAUSE_FAULTS)[number]
  | (typeof PARTITION_FAULTS)[number]
  | (typeof LINK_FAULTS)[number]
  | (typeof MEMBERSHIP_FAULTS)[number];

export const NEMESIS_GROUPS: Record<string, readonly FaultKind[]> = {
  none: [],
  kill: KILL_FAULTS,
  pause: PAUSE_FAULTS,
  partition: PARTITION_FAULTS,
  netem: LINK_FAULTS,
  all: [...KILL_FAULTS, ...PAUSE_FAULTS, ...PARTITION_FAULTS, ...LINK_FAULTS],
  // Not in `all` (whose seeds replay the runs CI knows): ask for it, alone or with others.
  membership: MEMBERSHIP_FAULTS,
};

const KNOWN_FAULTS: readonly FaultKind[] = [...NEMESIS_GROUPS.all!, ...MEMBERSHIP_FAULTS];

/** `all`, `kill,partition`, or single kinds like `kill-leader,partition-ring`. */
export function parseNemesis(spec: string): FaultKind[] {
  const out = new Set<FaultKind>();
  for (const part of spec.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const group = NEMESIS_GROUPS[part];
    if (group) group.forEach((k) => out.add(k));
    else if (KNOWN_FAULTS.includes(part as FaultKind)) out.add(part as FaultKind);
    else throw new Error(`unknown nemesis ${JSON.stringify(part)}: use ${Object.keys(NEMESIS_GROUPS).join(', ')} or a fault kind (${KNOWN_FAULTS.join(', ')})`);
  }
  return [...out];
}

export function needsNetwork(kind: FaultKind): boolean {
  return kind.startsWith('partition-') || kind.endsWith('-links');
}

export interface NemesisOptions {
  readonly kinds: readonly FaultKind[];
  /** Quiet time between faults: [min, max] ms. */
  readonly quietMs: readonly [number, number];
  /** How long a fault lasts: [min, max] ms. */
  readonly faultMs: readonly [number, number];
  /** The nodes' base election timeout: pauses last longer than twice it. */
  readonly electionTimeoutMs: number;
  /** Whether tc netem works here; without it slow links become lossy ones. */
  readonly netem: boolean;
}

interface Applied {
  readonly detail: string;
  heal(): Promise<void> | void;
}

export class Nemesis {
  private stopped = false;
  private wakeUp: (() => void) | null = null;
  private active: { window: FaultWindow; applied: Applied } | null = null;
  /** How many faults of each kind were injected. */
  readonly counts = new Map<string, number>();
  private readonly members: MemberOps;

  constructor(
    private readonly nodes: Nodes,
    private readonly net: NetFaults | null,
    private readonly rng: Prng,
    private readonly rec: Recorder,
    private readonly opts: NemesisOptions,
  ) {
    for (const k of opts.kinds) {
      if (needsNetwork(k) && net === null) throw new Error(`nemesis ${k} needs iptables`);
    }
    this.members = new MemberOps(nodes);
  }

  /** Sleeps ms, or less when stop() is called. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(t);
        this.wakeUp = null;
        resolve();
      };
    });
  }

  private between([lo, hi]: readonly [number, number]): number {
    return this.rng.int(lo, hi);
  }

  /** Injects faults until `untilMs` (recorder time) or stop(), then heals. */
  async run(untilMs: number): Promise<void> {
    if (this.opts.kinds.length === 0) return;
    while (!this.stopped) {
      await this.sleep(this.between(this.opts.quietMs));
      if (this.stopped || this.rec.now() >= untilMs) break;
      const kind = this.rng.pick(this.opts.kinds);
      const duration = kind.startsWith('pause-')
        ? this.rng.int(3 * this.opts.electionTimeoutMs, Math.max(6 * this.opts.electionTimeoutMs, this.opts.faultMs[0]))
        : this.between(this.opts.faultMs);
      let applied: Applied;
      try {
        applied = await this.inject(kind);
      } catch (err) {
        this.rec.event(`nemesis: ${kind} could not be injected: ${(err as Error).message}`);
        continue;
      }
      this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
      this.active = { window: this.rec.faultStart(kind, applied.detail), applied };
      await this.sleep(Math.min(duration, Math.max(0, untilMs - this.rec.now())));
      await this.healActive();
      if (this.rec.now() >= untilMs) break;
    }
    await this.healActive();
  }

  stop(): void {
    this.stopped = true;
    this.wakeUp?.();
  }

  private async healActive(): Promise<void> {
    const a = this.active;
    if (a === null) return;
    this.active = null;
    await a.applied.heal();
    this.rec.faultEnd(a.window);
  }

  private async leaderOrRandom(): Promise<{ id: string; how: string }> {
    const leader = await this.nodes.leader();
    if (leader !== null) return { id: leader, how: 'leader' };
    const live = this.nodes.ids.filter((id) => this.nodes.live(id));
    return { id: this.rng.pick(live.length > 0 ? live : this.nodes.ids), how: 'no leader; random node' };
  }

  private async killSome(ids: string[], why: string): Promise<Applied> {
    await Promise.all(ids.map((id) => this.nodes.kill(id)));
    return {
      detail: `kill -9 ${ids.join(' ')} (${why})`,
      heal: () => {
        for (const id of ids) this.nodes.start(id);
      },
    };
  }

  private async inject(kind: FaultKind): Promise<Applied> {
    const ids = this.nodes.ids;
    const hosts = (xs: readonly string[]) => xs.map((id) => this.nodes.node(id).host);
    const majority = Math.floor(ids.length / 2) + 1;
    switch (kind) {
      case 'kill-leader': {
        const l = await this.leaderOrRandom();
        return this.killSome([l.id], l.how);
      }
      case 'kill-random':
        return this.killSome([this.rng.pick(ids)], 'random');
      case 'kill-majority':
        return this.killSome(this.rng.shuffle([...ids]).slice(0, majority).sort(), 'majority');
      case 'kill-all':
        return this.killSome([...ids], 'all');
      case 'pause-leader':
      case 'pause-random': {
        const l = kind === 'pause-leader' ? await this.leaderOrRandom() : { id: this.rng.pick(ids), how: 'random' };
        this.nodes.pause(l.id);
        return { detail: `SIGSTOP ${l.id} (${l.how})`, heal: () => this.nodes.resume(l.id) };
      }
      case 'partition-leader': {
        const l = await this.leaderOrRandom();
        const rest = ids.filter((id) => id !== l.id);
        return this.partition([[l.id], rest], `isolated ${l.id} (${l.how})`);
      }
      case 'partition-halves': {
        const s = this.rng.shuffle([...ids]);
        const cut = Math.floor(ids.length / 2);
        return this.partition([s.slice(0, cut).sort(), s.slice(cut).sort()], 'random halves');
      }
      case 'partition-ring': {
        // Each node sees its two neighbours on a shuffled ring: a majority (of 5) each,
        // and no two nodes see the same majority.
        const s = this.rng.shuffle([...ids]);
        const groups = s.map((_, i) => [s[(i + s.length - 1) % s.length]!, s[i]!, s[(i + 1) % s.length]!]);
        return this.partition(groups, `majorities ring ${s.join('-')}`);
      }
      case 'partition-bridge': {
        // Two halves that cannot see each other, and one node that sees both.
        const s = this.rng.shuffle([...ids]);
        const mid = Math.floor(s.length / 2);
        const bridge = s[mid]!;
        const left = s.slice(0, mid);
        const right = s.slice(mid + 1);
        return this.partition([[...left, bridge], [bridge, ...right]], `bridge ${bridge} between ${left.join(',')} and ${right.join(',')}`);
      }
      case 'member-readd': {
        // The leader half the time: a removed leader steps down and hands over.
        const l = this.rng.int(0, 1) === 0 ? await this.leaderOrRandom() : { id: this.rng.pick(ids), how: 'random' };
        await this.ensured(l.id, () => this.members.remove(l.id));
        return { detail: `CLUSTER REMOVE ${l.id} (${l.how}), added back on heal`, heal: () => this.heal(l.id) };
      }
      case 'member-replace': {
        const id = this.rng.pick(ids);
        await this.nodes.kill(id);
        await this.ensured(id, () => this.members.remove(id), () => this.nodes.start(id));
        await this.members.wipeAndJoinNext(id);
        return {
          detail: `replace ${id}: kill -9, CLUSTER REMOVE, wipe its data; on heal it starts empty with --join`,
          heal: async () => {
            this.nodes.start(id);
            await this.heal(id);
          },
        };
      }
      case 'slow-links':
      case 'lossy-links': {
        const net = this.net!;
        const all = hosts(ids);
        if (kind === 'slow-links' && this.opts.netem) {
          const p = { delayMs: this.rng.int(20, 150), jitterMs: this.rng.int(5, 50), lossPct: this.rng.int(0, 10) };
          if (net.netem(p)) {
            return { detail: `netem delay ${p.delayMs}ms±${p.jitterMs}ms loss ${p.lossPct}% between all nodes`, heal: () => net.netemOff() };
          }
        }
        const p = this.rng.int(5, 35) / 100;
        net.lossy(all, p);
        const note = kind === 'slow-links' ? ' (no netem here: lossy links instead)' : '';
        return { detail: `drop ${Math.round(p * 100)}% of packets between all nodes${note}`, heal: () => net.heal() };
      }
    }
  }

  /** Runs a membership move; if it fails, puts the node back (its outcome may be unknown) and rethrows. */
  private async ensured(id: string, move: () => Promise<void>, undo?: () => void): Promise<void> {
    try {
      await move();
    } catch (err) {
      undo?.();
      await this.heal(id);
      throw err;
    }
  }

  private async heal(id: string): Promise<void> {
    const why = await this.members.ensureVoter(id);
    if (why !== null) this.rec.event(`nemesis: ${why}`);
  }

  private partition(groups: string[][], what: string): Applied {
    const net = this.net!;
    const host = (id: string) => this.nodes.node(id).host;
    net.partition(groups.map((g) => g.map(host)), this.nodes.ids.map(host));
    const shown = groups.map((g) => g.join(',')).join(' | ');
    return { detail: `${what}: ${shown}`, heal: () => net.heal() };
  }
}
