import type { Outcome, ParticipantCommand, ParticipantVote } from '@verdict/protocol';
import { LRUCache } from 'lru-cache';

/** A vote as the SDK remembers it; `reason` is present for NO. */
export interface VoteRecord {
  readonly vote: ParticipantVote;
  readonly reason?: string;
}

/** What this process knows about one transaction. */
export interface TxMemory {
  /** Highest leader term seen in a command for this transaction. */
  readonly termSeen: number;
  readonly vote: VoteRecord | null;
  readonly votedAtMs: number | null;
  /** The deadline of the PREPARE this participant voted on: no decision by then, it asks. */
  readonly deadlineMs: number | null;
  /** Invariant: once set, never changes (a decision is final). */
  readonly outcome: Outcome | null;
}

/**
 * What to do with one command, decided from memory alone (no I/O), so the protocol's promises are
 * testable as a table:
 * - `ignore`: a deposed leader's command; no reply, no effect.
 * - `reply`: answered from memory (a repeated PREPARE, COMMIT or ABORT); the service is not called.
 * - `prepare` / `decide` / `prepareAndCommit`: the service must act, then the result is recorded.
 * - `reject`: the command contradicts what this participant already did (a COMMIT after a NO vote
 *   or after an applied ABORT): never acted on nor acknowledged, parked for an operator.
 */
export type Plan =
  | { readonly kind: 'ignore'; readonly reason: string }
  | { readonly kind: 'reply'; readonly reply: PlannedReply }
  | { readonly kind: 'prepare' }
  | { readonly kind: 'decide'; readonly outcome: Outcome }
  | { readonly kind: 'prepareAndCommit' }
  | { readonly kind: 'reject'; readonly reason: string };

export type PlannedReply =
  { readonly type: 'VOTE'; readonly vote: VoteRecord } | { readonly type: 'ACK'; readonly outcome: Outcome };

export function planCommand(memory: TxMemory | undefined, command: ParticipantCommand): Plan {
  if (memory !== undefined && command.term < memory.termSeen) {
    return {
      kind: 'ignore',
      reason: `term ${command.term} is older than term ${memory.termSeen} already seen for this transaction`,
    };
  }
  const outcome = memory?.outcome ?? null;
  const vote = memory?.vote ?? null;
  switch (command.type) {
    case 'PREPARE':
      // The decision is final: a PREPARE arriving after it (a re-send overtaken by the decision)
      // must not prepare the work again; it is answered with the decision.
      if (outcome !== null) return { kind: 'reply', reply: { type: 'ACK', outcome } };
      if (vote !== null) return { kind: 'reply', reply: { type: 'VOTE', vote } };
      return { kind: 'prepare' };
    case 'COMMIT':
      if (outcome === 'COMMIT') return { kind: 'reply', reply: { type: 'ACK', outcome } };
      if (outcome === 'ABORT') {
        return {
          kind: 'reject',
          reason: 'COMMIT received for a transaction this participant already aborted',
        };
      }
      if (vote?.vote === 'NO') {
        return { kind: 'reject', reason: `COMMIT received after this participant voted NO (${vote.reason})` };
      }
      // A read-only participant holds nothing; a new leader that never saw the votes still sends it
      // the decision.
      if (vote?.vote === 'READ_ONLY') return { kind: 'reply', reply: { type: 'ACK', outcome: 'COMMIT' } };
      if (command.payload.onePhase === true && vote === null) return { kind: 'prepareAndCommit' };
      return { kind: 'decide', outcome: 'COMMIT' };
    case 'ABORT':
      if (outcome === 'ABORT') return { kind: 'reply', reply: { type: 'ACK', outcome } };
      if (outcome === 'COMMIT') {
        return {
          kind: 'reject',
          reason: 'ABORT received for a transaction this participant already committed',
        };
      }
      if (vote?.vote === 'READ_ONLY') return { kind: 'reply', reply: { type: 'ACK', outcome: 'ABORT' } };
      // Also when nothing was prepared: the service records the abort so that a PREPARE overtaken
      // by this ABORT is refused.
      return { kind: 'decide', outcome: 'ABORT' };
  }
}

export const MEMORY_ENTRIES_MAX_DEFAULT = 100_000;

/**
 * The SDK's memory of terms, votes and outcomes: what makes repeated commands cheap and what
 * catches a deposed leader. It is bounded and lost on restart; correctness after that rests on
 * the service's durable state (see `ParticipantService`).
 */
export class ParticipantMemory {
  /**
   * Least recently written first. Not a Map re-inserted on every write: once full, finding its
   * oldest entry walked past every entry deleted since V8 last compacted it, ~20 µs per
   * transaction where the rest of the memory's work is ~1.
   */
  private readonly entries: LRUCache<string, TxMemory>;

  constructor(entriesMax: number = MEMORY_ENTRIES_MAX_DEFAULT) {
    if (!Number.isInteger(entriesMax) || entriesMax < 1) {
      throw new RangeError(`memory entriesMax must be a positive integer, got ${entriesMax}`);
    }
    this.entries = new LRUCache({ max: entriesMax });
  }

  /** Reading does not make an entry recent: only writes do. */
  get(txId: string): TxMemory | undefined {
    return this.entries.peek(txId);
  }

  get size(): number {
    return this.entries.size;
  }

  seeTerm(txId: string, term: number): void {
    const current = this.get(txId);
    if (current !== undefined && current.termSeen >= term) return;
    this.put(txId, { ...(current ?? emptyMemory()), termSeen: term });
  }

  recordVote(txId: string, term: number, vote: VoteRecord, nowMs: number, deadlineMs: number | null): void {
    const current = this.get(txId) ?? emptyMemory();
    // The first vote stands: a repeated PREPARE must get the same vote.
    if (current.vote !== null) return;
    this.put(txId, {
      ...current,
      termSeen: Math.max(current.termSeen, term),
      vote,
      votedAtMs: nowMs,
      deadlineMs,
    });
  }

  recordOutcome(txId: string, term: number, outcome: Outcome): void {
    const current = this.get(txId) ?? emptyMemory();
    if (current.outcome !== null && current.outcome !== outcome) {
      throw new Error(`transaction ${txId}: outcome ${current.outcome} already applied, refusing ${outcome}`);
    }
    this.put(txId, { ...current, termSeen: Math.max(current.termSeen, term), outcome });
  }

  private put(txId: string, memory: TxMemory): void {
    this.entries.set(txId, memory);
  }
}

function emptyMemory(): TxMemory {
  return { termSeen: 0, vote: null, votedAtMs: null, deadlineMs: null, outcome: null };
}
