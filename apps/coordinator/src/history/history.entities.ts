import { Column, Entity, PrimaryColumn, type ValueTransformer } from 'typeorm';
import type { Outcome, ParticipantVote } from '@verdict/protocol';
import type { FinishedState, FinishedTimelineEvent } from './finished-transaction';

/**
 * PostgreSQL returns `bigint` as a string so that no precision is lost. Raft indexes and terms
 * stay far below 2^53, so a number is exact; the transformer refuses anything that is not.
 */
const bigintAsNumber: ValueTransformer = {
  to: (value: number) => value,
  from: (value: string | null): number | null => {
    if (value === null) return null;
    const parsed = Number(value);
    if (!Number.isSafeInteger(parsed)) {
      throw new Error(`bigint column value ${value} does not fit a JavaScript number exactly`);
    }
    return parsed;
  },
};

// The schema (foreign key and checks included) is owned by the migrations in ./migrations;
// these classes only map its columns. Branches are loaded by txId, not through a relation.
@Entity({ name: 'finished_transactions' })
export class FinishedTransactionRow {
  @PrimaryColumn({ name: 'tx_id', type: 'uuid' })
  txId!: string;

  @Column({ type: 'text' })
  outcome!: Outcome;

  @Column({ type: 'text' })
  state!: FinishedState;

  @Column({ type: 'text' })
  cause!: string;

  @Column({ type: 'text' })
  reason!: string;

  @Column({ name: 'resolved_by', type: 'text', nullable: true })
  resolvedBy!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'decided_at', type: 'timestamptz' })
  decidedAt!: Date;

  @Column({ name: 'finished_at', type: 'timestamptz' })
  finishedAt!: Date;

  @Column({ type: 'timestamptz' })
  deadline!: Date;

  @Column({ type: 'jsonb' })
  metadata!: Record<string, string>;

  @Column({ name: 'decision_raft_index', type: 'bigint', transformer: bigintAsNumber })
  decisionRaftIndex!: number;

  @Column({ name: 'decision_raft_term', type: 'bigint', transformer: bigintAsNumber })
  decisionRaftTerm!: number;

  @Column({ name: 'idempotency_key', type: 'text', nullable: true })
  idempotencyKey!: string | null;

  /** jsonb holds whatever was written into it: the store checks it when it reads it. */
  @Column({ type: 'jsonb' })
  timeline!: FinishedTimelineEvent[];
}

@Entity({ name: 'transaction_branches' })
export class TransactionBranchRow {
  @PrimaryColumn({ name: 'tx_id', type: 'uuid' })
  txId!: string;

  @PrimaryColumn({ type: 'text' })
  participant!: string;

  @Column({ type: 'text', nullable: true })
  vote!: ParticipantVote | null;

  @Column({ name: 'vote_reason', type: 'text', nullable: true })
  voteReason!: string | null;

  @Column({ name: 'voted_at', type: 'timestamptz', nullable: true })
  votedAt!: Date | null;

  @Column({ name: 'acked_at', type: 'timestamptz', nullable: true })
  ackedAt!: Date | null;

  @Column({ type: 'integer' })
  attempts!: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;
}

export const HISTORY_ENTITIES = [FinishedTransactionRow, TransactionBranchRow];
