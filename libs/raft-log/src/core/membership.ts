import { assert } from './assert';
import type { Membership, NodeId } from './types';

/**
 * A single-node membership change: the only kind the core accepts, one at a time. `address` is
 * recorded for an added learner (where to reach it); any change may pass `addresses` to refresh
 * the recorded addresses of the other members (entries for non-members are dropped).
 */
export type MembershipChange = (
  | { readonly kind: 'addLearner'; readonly nodeId: NodeId; readonly address?: string }
  | { readonly kind: 'promoteLearner'; readonly nodeId: NodeId }
  | { readonly kind: 'removeNode'; readonly nodeId: NodeId }
) & { readonly addresses?: Readonly<Record<NodeId, string>> };

export function isVoter(membership: Membership, nodeId: NodeId): boolean {
  return membership.voters.includes(nodeId);
}

export function isMember(membership: Membership, nodeId: NodeId): boolean {
  return membership.voters.includes(nodeId) || membership.learners.includes(nodeId);
}

/** Every member, voters first, each once. */
export function members(membership: Membership): NodeId[] {
  return [...membership.voters, ...membership.learners];
}

/** The membership after `change`, or a sentence saying why the change does not apply. */
export function applyMembershipChange(membership: Membership, change: MembershipChange): Membership | string {
  const next = changedMembers(membership, change);
  if (typeof next === 'string') return next;
  const addresses: Record<NodeId, string> = { ...membership.addresses, ...change.addresses };
  if (change.kind === 'addLearner' && change.address !== undefined) addresses[change.nodeId] = change.address;
  return withAddresses(next, addresses);
}

function changedMembers(membership: Membership, change: MembershipChange): Membership | string {
  const { nodeId } = change;
  switch (change.kind) {
    case 'addLearner':
      if (isMember(membership, nodeId)) return `${nodeId} is already a member`;
      return { voters: membership.voters, learners: [...membership.learners, nodeId] };
    case 'promoteLearner':
      if (!membership.learners.includes(nodeId)) return `${nodeId} is not a learner`;
      return {
        voters: [...membership.voters, nodeId],
        learners: membership.learners.filter((id) => id !== nodeId),
      };
    case 'removeNode':
      if (!isMember(membership, nodeId)) return `${nodeId} is not a member`;
      if (membership.voters.length === 1 && membership.voters[0] === nodeId)
        return `${nodeId} is the last voter`;
      return {
        voters: membership.voters.filter((id) => id !== nodeId),
        learners: membership.learners.filter((id) => id !== nodeId),
      };
  }
}

/** `membership` with the addresses of its members only; no `addresses` field when none is known. */
export function withAddresses(
  membership: Membership,
  addresses: Readonly<Record<NodeId, string>> | undefined,
): Membership {
  const kept: Record<NodeId, string> = {};
  for (const nodeId of members(membership)) {
    const address = addresses?.[nodeId];
    if (address !== undefined) kept[nodeId] = address;
  }
  const base = { voters: membership.voters, learners: membership.learners };
  return Object.keys(kept).length === 0 ? base : { ...base, addresses: kept };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Config entries carry their Membership as UTF-8 JSON: small, rare, and readable in a log dump. */
export function encodeMembership(membership: Membership): Uint8Array {
  return encoder.encode(
    JSON.stringify({
      voters: membership.voters,
      learners: membership.learners,
      ...(membership.addresses !== undefined && { addresses: membership.addresses }),
    }),
  );
}

export function decodeMembership(data: Uint8Array): Membership {
  const parsed: unknown = JSON.parse(decoder.decode(data));
  assert(
    typeof parsed === 'object' &&
      parsed !== null &&
      'voters' in parsed &&
      'learners' in parsed &&
      isStringArray(parsed.voters) &&
      isStringArray(parsed.learners),
    `config entry does not hold a membership: ${decoder.decode(data)}`,
  );
  const addresses = 'addresses' in parsed ? parsed.addresses : undefined;
  assert(
    addresses === undefined || isStringRecord(addresses),
    `config entry has addresses that are not a map of node id to string: ${decoder.decode(data)}`,
  );
  return withAddresses({ voters: parsed.voters, learners: parsed.learners }, addresses);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((item) => typeof item === 'string')
  );
}
