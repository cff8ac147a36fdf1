import { assert } from './assert';
import type { Membership, NodeId } from './types';

/** A single-node membership change: the only kind the core accepts, one at a time. */
export type MembershipChange =
  | { readonly kind: 'addLearner'; readonly nodeId: NodeId }
  | { readonly kind: 'promoteLearner'; readonly nodeId: NodeId }
  | { readonly kind: 'removeNode'; readonly nodeId: NodeId };

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

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Config entries carry their Membership as UTF-8 JSON: small, rare, and readable in a log dump. */
export function encodeMembership(membership: Membership): Uint8Array {
  return encoder.encode(JSON.stringify({ voters: membership.voters, learners: membership.learners }));
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
  return { voters: parsed.voters, learners: parsed.learners };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
