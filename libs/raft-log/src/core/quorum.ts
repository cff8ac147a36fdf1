// Quorum arithmetic over a set of voters, kept as small pure functions (etcd's quorum/majority.go).
import type { Index, NodeId } from './types';

/** How many of `voterCount` voters make a majority. */
export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The highest index that a majority of voters have matched: sort match indexes descending and
 * take the one at position majority - 1. An empty voter set commits nothing.
 */
export function majorityMatchIndex(
  voters: readonly NodeId[],
  matchIndexOf: (nodeId: NodeId) => Index,
): Index {
  if (voters.length === 0) return 0;
  const matched = voters.map(matchIndexOf).sort((a, b) => b - a);
  return matched[majority(voters.length) - 1] ?? 0;
}

export type ElectionResult = 'won' | 'lost' | 'pending';

/** Whether the voteGranted answers collected so far decide an election among `voters`. */
export function electionResult(
  voters: readonly NodeId[],
  voteGranted: ReadonlyMap<NodeId, boolean>,
): ElectionResult {
  let granted = 0;
  let rejected = 0;
  for (const voter of voters) {
    const answer = voteGranted.get(voter);
    if (answer === true) granted += 1;
    if (answer === false) rejected += 1;
  }
  const needed = majority(voters.length);
  if (granted >= needed) return 'won';
  if (voters.length - rejected < needed) return 'lost';
  return 'pending';
}

/** True when the nodes for which `active` holds form a majority of `voters`. */
export function quorumActive(voters: readonly NodeId[], active: (nodeId: NodeId) => boolean): boolean {
  return voters.filter(active).length >= majority(voters.length);
}
