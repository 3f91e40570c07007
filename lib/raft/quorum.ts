// Majority arithmetic over a fixed voter set.

import { assert } from './assert.js';

export function quorumSize(voters: number): number {
  assert(Number.isInteger(voters) && voters >= 1, `bad voter count ${voters}`);
  return Math.floor(voters / 2) + 1;
}

/** The highest index that a majority of `matches` (one per voter) has reached. */
export function committedIndex(matches: number[]): number {
  assert(matches.length >= 1, 'no voters');
  const sorted = matches.slice().sort((a, b) => b - a);
  return sorted[quorumSize(matches.length) - 1]!;
}

export type VoteResult = 'won' | 'lost' | 'pending';

export function voteResult(granted: number, rejected: number, voters: number): VoteResult {
  assert(granted + rejected <= voters, `votes ${granted}+${rejected} > voters ${voters}`);
  const q = quorumSize(voters);
  if (granted >= q) return 'won';
  if (rejected > voters - q) return 'lost';
  return 'pending';
}
