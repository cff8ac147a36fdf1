import type { Index, Membership, NodeId } from '../core/types';

/**
 * Whether a node that applied through `appliedIndex`, its newest snapshot at `snapshotIndex`,
 * snapshots now: each time its applied index crosses a multiple of `everyEntries` shifted by
 * `offset`, so once per `everyEntries` entries.
 */
export function snapshotDue(
  appliedIndex: Index,
  snapshotIndex: Index,
  everyEntries: number,
  offset: number,
): boolean {
  return (
    Math.floor((appliedIndex + offset) / everyEntries) > Math.floor((snapshotIndex + offset) / everyEntries)
  );
}

/**
 * Where in the interval `nodeId` snapshots: the members, sorted, are spread evenly over it. Nodes
 * apply the same indices within milliseconds of each other, and a snapshot, though taken off the
 * Ready loop, still costs its node the encoding and a write of the whole state: on one shared
 * schedule every member would pay it at once, slowing every acknowledgement a commit waits for.
 * A node outside `membership` (joining) snapshots at offset 0.
 */
export function snapshotOffset(nodeId: NodeId, membership: Membership, everyEntries: number): number {
  const members = [...membership.voters, ...membership.learners].sort();
  const position = members.indexOf(nodeId);
  return position <= 0 ? 0 : Math.floor((position * everyEntries) / members.length);
}
