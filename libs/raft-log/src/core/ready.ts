import type { Entry, HardState, Index, NodeId, RaftMessage, Role, Snapshot, Term } from './types';

/** A ReadIndex answer: the read is linearizable once the host has applied through `index`. */
export interface ReadState {
  readonly requestId: string;
  readonly index: Index;
}

/** Who this node is now; reported in a Ready only when it changed. */
export interface RoleState {
  readonly role: Role;
  readonly term: Term;
  readonly leaderId: NodeId | null;
}

/**
 * One batch of effects. The host handles the fields in this order, then calls advance(ready):
 *
 * 1. `snapshot`: persist it and drop every stored entry (the log now starts after it).
 * 2. `truncateFromIndex`: remove stored entries [truncateFromIndex, ∞).
 * 3. `entriesToPersist`, then `hardState`: append the entries, then write the hard state
 *    (entries first, so a durable commitIndex never points past the durable log); fsync when
 *    `mustSync`. The write must be complete before step 4.
 * 4. `messages`: send. They may promise what step 3 wrote (a voteGranted answer, a matchIndex).
 *    Exception: those `sendableBeforePersist` accepts may leave before step 3 starts.
 * 5. `snapshot` again: restore the state machine from it; then apply `entriesToApply` in order.
 * 6. `readStates`: answer each read once the applied index reaches its `index`;
 *    `readsAborted`: fail those reads (leadership was lost; the client retries elsewhere).
 *
 * While a Ready is outstanding, ready() returns null; step(), tick() and propose() still work and
 * their effects wait for the next Ready.
 */
export interface Ready {
  readonly roleState: RoleState | null;
  /** Null when unchanged since the last Ready. */
  readonly hardState: HardState | null;
  readonly snapshot: Snapshot | null;
  /** When not null: the store may hold entries at or after this index that are now overwritten. Equals entriesToPersist[0].index. */
  readonly truncateFromIndex: Index | null;
  readonly entriesToPersist: readonly Entry[];
  /** Committed entries, contiguous and in index order, starting right after the applied index. */
  readonly entriesToApply: readonly Entry[];
  readonly messages: readonly RaftMessage[];
  readonly readStates: readonly ReadState[];
  readonly readsAborted: readonly string[];
  /** True when term, votedFor, entries or a snapshot changed: only a commitIndex change may skip fsync. */
  readonly mustSync: boolean;
}

/**
 * Whether `message` may be sent while the Ready's write (step 3) is still in flight: a leader's
 * appendEntries and installSnapshot (Raft thesis §10.2.1), so the leader's fsync overlaps the
 * followers' instead of preceding it. They promise nothing about the leader's own disk: the core
 * counts the leader's entries towards commit only after advance(), and entries a majority of
 * followers hold are committed whether or not the leader kept them. `durableTerm` is the term of
 * the last hard state the host finished writing: a message of a newer term waits, because a
 * leader that crashed before its term was durable could win that term again (a lone voter with
 * learners) and send different entries under it.
 */
export function sendableBeforePersist(message: RaftMessage, durableTerm: Term): boolean {
  return (
    (message.kind === 'appendEntries' || message.kind === 'installSnapshot') && message.term <= durableTerm
  );
}
