import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  BREAKER_STATES,
  RAFT_ROLES,
  TIMELINE_EVENT_KINDS,
  TX_STATES,
  type BreakerState,
  type RaftRole,
  type TimelineEventKind,
  type TxState,
} from '../coordinator.port';

const OUTCOMES = ['COMMIT', 'ABORT'] as const;
const PARTICIPANT_VOTES = ['YES', 'NO', 'READ_ONLY'] as const;

// Response shapes, documented for OpenAPI. Handlers build them only through the mappers in
// mappers.ts, so nothing the coordinator adds to its views reaches a client by accident.

export class DecisionDto {
  @ApiProperty({ enum: OUTCOMES })
  outcome!: 'COMMIT' | 'ABORT';

  @ApiProperty({ description: 'Raft log index of the DECISION entry: the commit point.' })
  raftIndex!: number;

  @ApiProperty({ description: 'Raft term the DECISION entry was committed in.' })
  raftTerm!: number;

  @ApiProperty({ example: 'all participants voted YES' })
  reason!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Operator who resolved it by hand; null when the coordinator decided.',
  })
  resolvedBy!: string | null;

  @ApiProperty({ format: 'date-time' })
  decidedAt!: string;
}

export class ParticipantStatusDto {
  @ApiProperty({ example: 'bank-a' })
  name!: string;

  @ApiProperty({ enum: PARTICIPANT_VOTES, nullable: true, description: 'null until it has voted.' })
  vote!: 'YES' | 'NO' | 'READ_ONLY' | null;

  @ApiProperty({ type: String, nullable: true })
  voteReason!: string | null;

  @ApiProperty({ description: 'Whether it acknowledged the decision.' })
  ack!: boolean;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  ackedAt!: string | null;

  @ApiProperty({ description: "Sends of the current phase's command so far." })
  attempts!: number;

  @ApiProperty({ type: String, nullable: true })
  lastError!: string | null;

  @ApiProperty({ enum: BREAKER_STATES })
  breaker!: BreakerState;
}

export class StuckDto {
  @ApiProperty({ format: 'date-time' })
  since!: string;

  @ApiProperty({ example: "waiting for bank-b's ACK for 12 minutes; its breaker is OPEN" })
  reason!: string;
}

export class TimelineEventDto {
  @ApiProperty({ format: 'date-time' })
  at!: string;

  @ApiProperty({ enum: TIMELINE_EVENT_KINDS })
  kind!: TimelineEventKind;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'bank-b',
    description: 'The participant it concerns; null for events of the whole transaction.',
  })
  participant!: string | null;

  @ApiProperty({ example: 'voted NO: insufficient funds', description: 'What happened, in plain words.' })
  detail!: string;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Raft log index of the replicated entry behind it (BEGIN, ENLIST, PREPARING, DECISION).',
  })
  raftIndex!: number | null;

  @ApiProperty({ type: Number, nullable: true, description: 'Raft term of that entry.' })
  raftTerm!: number | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The operator, for a resolution (DECISION) or a RETRY; null otherwise.',
  })
  actor!: string | null;
}

export class TransactionDto {
  @ApiProperty({ format: 'uuid', description: 'UUIDv7: lists sorted by id are sorted by age.' })
  id!: string;

  @ApiProperty({ enum: TX_STATES })
  state!: TxState;

  @ApiProperty({ type: DecisionDto, nullable: true })
  decision!: DecisionDto | null;

  @ApiProperty({ type: [ParticipantStatusDto] })
  participants!: ParticipantStatusDto[];

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time', description: 'Prepare deadline: no decision by then means ABORT.' })
  deadline!: string;

  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  metadata!: Record<string, string>;

  @ApiProperty({ type: StuckDto, nullable: true })
  stuck!: StuckDto | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  finishedAt!: string | null;

  @ApiProperty({
    type: [TimelineEventDto],
    description:
      'Everything that happened to the transaction, oldest first. Filled by GET /v1/transactions/{id} ' +
      'and by the calls that return one transaction; always empty in the list (GET /v1/transactions). ' +
      'PREPARE_SENT, VOTE, DECISION_SENT, ACK and RETRY are seen by the leader only and kept in its ' +
      'memory, bounded (repeated sends are coalesced into one event with a count); after a leader ' +
      'change those of the old leader are gone and the new leader adds RESUMED. A finished ' +
      'transaction read from history ends with ARCHIVED.',
  })
  timeline!: TimelineEventDto[];
}

export class TransactionPageDto {
  @ApiProperty({ type: [TransactionDto] })
  items!: TransactionDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as cursor for the next page; null on the last.',
  })
  nextCursor!: string | null;
}

export class OutcomeDto {
  @ApiProperty({ format: 'uuid' })
  txId!: string;

  @ApiProperty({
    enum: OUTCOMES,
    nullable: true,
    description:
      'null while undecided: keep the transaction prepared and ask again; never decide alone. (The participant SDK reads it this way.)',
  })
  outcome!: 'COMMIT' | 'ABORT' | null;

  @ApiProperty({
    description: 'true when the cluster has no record of the id and answers ABORT by presumption.',
  })
  presumed!: boolean;
}

export class MemberDto {
  @ApiProperty()
  nodeId!: string;

  @ApiProperty({ enum: RAFT_ROLES })
  role!: RaftRole;

  @ApiProperty({ type: Number, nullable: true, description: 'Known on the leader only.' })
  matchIndex!: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: "Entries behind the leader's last index; leader only.",
  })
  lag!: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Milliseconds since it last answered; leader only.',
  })
  lastContactMs!: number | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: "Base URL of the member's HTTP API, from the replicated configuration; null if unknown.",
    example: 'http://10.0.0.4:8080',
  })
  httpUrl!: string | null;
}

export class ClusterStatsDto {
  @ApiProperty({
    description:
      'COMMIT decisions applied on this node since it started. Difference two readings for a rate.',
  })
  committed!: number;

  @ApiProperty({ description: 'ABORT decisions applied on this node since it started.' })
  aborted!: number;

  @ApiProperty({ description: 'Live transactions in PREPARING, COMMITTING or ABORTING now.' })
  inDoubt!: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    description: 'Milliseconds since the oldest in-doubt transaction began; null when none is in doubt.',
  })
  oldestInDoubtMs!: number | null;
}

export class BreakerDto {
  @ApiProperty()
  participant!: string;

  @ApiProperty({ enum: BREAKER_STATES })
  state!: BreakerState;

  @ApiProperty({ format: 'date-time' })
  since!: string;
}

export class ClusterParticipantDto {
  @ApiProperty({ example: 'bank-b' })
  name!: string;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description:
      'When this node last read a reply (vote, ack or outcome query) from the participant; null if never since the node started.',
  })
  lastSeenAt!: string | null;

  @ApiProperty({
    enum: BREAKER_STATES,
    nullable: true,
    description: 'null when this node keeps no breaker for it (it never sent it a command, e.g. a follower).',
  })
  breaker!: BreakerState | null;
}

export class ClusterStatusDto {
  @ApiProperty()
  nodeId!: string;

  @ApiProperty({ enum: RAFT_ROLES })
  role!: RaftRole;

  @ApiProperty()
  term!: number;

  @ApiProperty({ type: String, nullable: true })
  leaderId!: string | null;

  @ApiProperty()
  commitIndex!: number;

  @ApiProperty()
  appliedIndex!: number;

  @ApiProperty({ type: [MemberDto] })
  members!: MemberDto[];

  @ApiProperty({ type: [BreakerDto] })
  breakers!: BreakerDto[];

  @ApiProperty({
    type: [ClusterParticipantDto],
    description: 'Every participant this node keeps a breaker for or heard from, by name.',
  })
  participants!: ClusterParticipantDto[];

  @ApiProperty({ type: ClusterStatsDto })
  stats!: ClusterStatsDto;
}

export class FieldErrorDto {
  @ApiProperty({ example: 'participants[0].name' })
  field!: string;

  @ApiProperty({ type: [String] })
  messages!: string[];
}

export class ProblemDto {
  @ApiProperty({
    example: 'urn:verdict:problem:tx-not-found',
    description: 'Stable URN naming the problem type.',
  })
  type!: string;

  @ApiProperty({ example: 'Transaction not found' })
  title!: string;

  @ApiProperty({ example: 404 })
  status!: number;

  @ApiProperty({ description: 'What went wrong and what to do, in a sentence.' })
  detail!: string;

  @ApiProperty({
    description: 'Stable machine code; see the problem types in the API description.',
    example: 'TX_NOT_FOUND',
  })
  code!: string;

  @ApiProperty({ description: 'Id of the request in the logs.' })
  requestId!: string;

  @ApiPropertyOptional({
    enum: TX_STATES,
    description: 'TX_NOT_ACTIVE, RESOLVE_NOT_ALLOWED: the current state.',
  })
  state?: TxState;

  @ApiPropertyOptional({ type: DecisionDto, description: 'DECISION_EXISTS: the decision already recorded.' })
  decision?: DecisionDto;

  @ApiPropertyOptional({
    description: 'NO_LEADER, PARTICIPANT_UNAVAILABLE: when to retry (also in Retry-After).',
  })
  retryAfterMs?: number;

  @ApiPropertyOptional({ type: [FieldErrorDto], description: 'VALIDATION_FAILED: every rejected field.' })
  errors?: FieldErrorDto[];
}
