import type { Membership, NodeId } from '@verdict/raft-log';

// How a coordinator node reaches another: its Raft listener (host:port) and its HTTP API (for
// forwarding to the leader and for the console). The Raft membership records one opaque string
// per member; this file is the only place that knows what is inside it.

export interface MemberAddress {
  /** host:port of the member's Raft listener. */
  readonly raftAddress: string;
  /** Base URL of the member's HTTP API, without a trailing slash. */
  readonly httpUrl: string;
}

/** The string recorded in the Raft membership for one member. */
export function encodeMemberAddress(address: MemberAddress): string {
  return JSON.stringify({ raft: address.raftAddress, http: address.httpUrl });
}

/** null for a string this file did not write (a log from before addresses, or a foreign tool). */
export function decodeMemberAddress(text: string): MemberAddress | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { raft, http } = parsed as Record<string, unknown>;
  return typeof raft === 'string' && typeof http === 'string' ? { raftAddress: raft, httpUrl: http } : null;
}

/** What a node was told at start (VERDICT_PEERS, VERDICT_PEER_HTTP_URLS): the fallback. */
export type StartupAddresses = Readonly<Record<NodeId, Partial<MemberAddress>>>;

/**
 * Where every node this one may talk to is reached. What this node's environment says about a
 * node wins (it may reach that node through a proxy or another network than the leader does);
 * the replicated address fills in the members the environment does not name, e.g. those added
 * at run time. A node with no membership yet (started to join) uses the environment's list: the
 * leader dials it, but its answers need an address to travel back on.
 */
export function resolveAddresses(
  membership: Membership,
  startup: StartupAddresses,
): Map<NodeId, Partial<MemberAddress>> {
  const members = [...membership.voters, ...membership.learners];
  const nodeIds = members.length === 0 ? Object.keys(startup) : members;
  const resolved = new Map<NodeId, Partial<MemberAddress>>();
  for (const nodeId of nodeIds) {
    const recorded = membership.addresses?.[nodeId];
    const replicated = recorded === undefined ? null : decodeMemberAddress(recorded);
    const local = startup[nodeId] ?? {};
    const raftAddress = local.raftAddress ?? replicated?.raftAddress;
    const httpUrl = local.httpUrl ?? replicated?.httpUrl;
    resolved.set(nodeId, {
      ...(raftAddress !== undefined && { raftAddress }),
      ...(httpUrl !== undefined && { httpUrl }),
    });
  }
  return resolved;
}

/** The transport's peer table: every resolved Raft address but this node's own. */
export function raftPeers(
  addresses: ReadonlyMap<NodeId, Partial<MemberAddress>>,
  selfId: NodeId,
): Record<NodeId, string> {
  const peers: Record<NodeId, string> = {};
  for (const [nodeId, address] of addresses) {
    if (nodeId !== selfId && address.raftAddress !== undefined) peers[nodeId] = address.raftAddress;
  }
  return peers;
}

/** The encoded address of every member that has both halves known, to record with a change. */
export function recordableAddresses(
  addresses: ReadonlyMap<NodeId, Partial<MemberAddress>>,
): Record<NodeId, string> {
  const recorded: Record<NodeId, string> = {};
  for (const [nodeId, { raftAddress, httpUrl }] of addresses) {
    if (raftAddress !== undefined && httpUrl !== undefined) {
      recorded[nodeId] = encodeMemberAddress({ raftAddress, httpUrl });
    }
  }
  return recorded;
}
