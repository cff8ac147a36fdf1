import type { Entry, RaftMessage } from '../core/types';

type MessageOfKind = { readonly [K in RaftMessage['kind']]: Extract<RaftMessage, { kind: K }> };

/** One message of every kind, for transport tests; the mapped type fails to compile when a kind is added. */
export function sampleMessages(from: string, to: string): MessageOfKind {
  const base = { from, to, term: 7 };
  return {
    requestVote: {
      ...base,
      kind: 'requestVote',
      preVote: true,
      lastLogIndex: 41,
      lastLogTerm: 6,
      leadershipTransfer: false,
    },
    requestVoteResponse: { ...base, kind: 'requestVoteResponse', preVote: false, voteGranted: true },
    appendEntries: {
      ...base,
      kind: 'appendEntries',
      prevLogIndex: 40,
      prevLogTerm: 6,
      entries: sampleEntries(41, 3, 32),
      leaderCommit: 39,
      readRound: 2,
    },
    appendEntriesResponse: {
      ...base,
      kind: 'appendEntriesResponse',
      success: false,
      matchIndex: 0,
      rejectedIndex: 40,
      rejectHintIndex: 12,
      rejectHintTerm: 3,
      readRound: 0,
    },
    installSnapshot: {
      ...base,
      kind: 'installSnapshot',
      metadata: { index: 100, term: 5, membership: { voters: ['n1', 'n2', 'n3'], learners: ['n4'] } },
      offset: 65_536,
      chunk: new Uint8Array([0, 1, 2, 250, 255]),
      done: true,
    },
    installSnapshotResponse: {
      ...base,
      kind: 'installSnapshotResponse',
      snapshotIndex: 100,
      nextOffset: 65_541,
      done: true,
    },
    timeoutNow: { ...base, kind: 'timeoutNow' },
  };
}

export function sampleEntries(firstIndex: number, count: number, dataBytes: number): Entry[] {
  return Array.from({ length: count }, (_, position) => ({
    index: firstIndex + position,
    term: 7,
    kind: position === 0 ? 'noop' : 'command',
    data: new Uint8Array(position === 0 ? 0 : dataBytes).fill(position % 256),
  }));
}
