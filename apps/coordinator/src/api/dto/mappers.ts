import type {
  BeginInput,
  ClusterStatusView,
  DecisionView,
  ListFilter,
  MemberInput,
  OutcomeView,
  ParticipantInput,
  ParticipantView,
  Resolution,
  TimelineEventView,
  TransactionPage,
  TransactionView,
} from '../coordinator.port';
import {
  LIST_LIMIT_DEFAULT,
  type AddMemberDto,
  type BeginTransactionDto,
  type ListTransactionsQueryDto,
  type ParticipantDto,
  type ResolveTransactionDto,
} from './request.dto';
import type {
  ClusterStatusDto,
  DecisionDto,
  OutcomeDto,
  ParticipantStatusDto,
  TimelineEventDto,
  TransactionDto,
  TransactionPageDto,
} from './response.dto';

// Requests: DTO → port input. Absent optional fields stay absent (exactOptionalPropertyTypes).

export function toParticipantInput(dto: ParticipantDto): ParticipantInput {
  return dto.payload === undefined ? { name: dto.name } : { name: dto.name, payload: dto.payload };
}

export function toBeginInput(dto: BeginTransactionDto): BeginInput {
  return {
    participants: (dto.participants ?? []).map(toParticipantInput),
    metadata: { ...dto.metadata },
    ...(dto.timeoutMs !== undefined && { timeoutMs: dto.timeoutMs }),
    ...(dto.commit !== undefined && { commit: dto.commit }),
  };
}

export function toListFilter(query: ListTransactionsQueryDto): ListFilter {
  return {
    limit: query.limit ?? LIST_LIMIT_DEFAULT,
    ...(query.state !== undefined && { state: query.state }),
    ...(query.participant !== undefined && { participant: query.participant }),
    ...(query.olderThanMs !== undefined && { olderThanMs: query.olderThanMs }),
    ...(query.stuck !== undefined && { stuck: query.stuck }),
    ...(query.cursor !== undefined && { cursor: query.cursor }),
  };
}

export function toResolution(dto: ResolveTransactionDto): Resolution {
  return { outcome: dto.outcome === 'commit' ? 'COMMIT' : 'ABORT', reason: dto.reason };
}

export function toMemberInput(dto: AddMemberDto): MemberInput {
  return { nodeId: dto.nodeId, raftAddress: dto.raftAddress, httpUrl: dto.httpUrl };
}

// Responses: port view → DTO, field by field.

export function toDecisionDto(view: DecisionView): DecisionDto {
  return {
    outcome: view.outcome,
    raftIndex: view.raftIndex,
    raftTerm: view.raftTerm,
    reason: view.reason,
    resolvedBy: view.resolvedBy,
    decidedAt: view.decidedAt,
  };
}

export function toParticipantStatusDto(view: ParticipantView): ParticipantStatusDto {
  return {
    name: view.name,
    vote: view.vote,
    voteReason: view.voteReason,
    ack: view.ack,
    ackedAt: view.ackedAt,
    attempts: view.attempts,
    lastError: view.lastError,
    breaker: view.breaker,
  };
}

export function toTimelineEventDto(view: TimelineEventView): TimelineEventDto {
  return {
    at: view.at,
    kind: view.kind,
    participant: view.participant,
    detail: view.detail,
    raftIndex: view.raftIndex,
    raftTerm: view.raftTerm,
    actor: view.actor,
  };
}

/** `withTimeline: false` for list items: the timeline is served by the single-transaction GET. */
export function toTransactionDto(view: TransactionView, withTimeline = true): TransactionDto {
  return {
    id: view.id,
    state: view.state,
    decision: view.decision === null ? null : toDecisionDto(view.decision),
    participants: view.participants.map(toParticipantStatusDto),
    createdAt: view.createdAt,
    deadline: view.deadline,
    metadata: { ...view.metadata },
    stuck: view.stuck === null ? null : { since: view.stuck.since, reason: view.stuck.reason },
    finishedAt: view.finishedAt,
    timeline: withTimeline ? view.timeline.map(toTimelineEventDto) : [],
  };
}

export function toTransactionPageDto(page: TransactionPage): TransactionPageDto {
  return { items: page.items.map((item) => toTransactionDto(item, false)), nextCursor: page.nextCursor };
}

export function toOutcomeDto(view: OutcomeView): OutcomeDto {
  return {
    txId: view.txId,
    outcome: view.outcome === 'UNDECIDED' ? null : view.outcome,
    presumed: view.presumed,
  };
}

export function toClusterStatusDto(view: ClusterStatusView): ClusterStatusDto {
  return {
    nodeId: view.nodeId,
    role: view.role,
    term: view.term,
    leaderId: view.leaderId,
    commitIndex: view.commitIndex,
    appliedIndex: view.appliedIndex,
    members: view.members.map((member) => ({
      nodeId: member.nodeId,
      role: member.role,
      matchIndex: member.matchIndex,
      lag: member.lag,
      lastContactMs: member.lastContactMs,
      httpUrl: member.httpUrl,
    })),
    breakers: view.breakers.map((breaker) => ({
      participant: breaker.participant,
      state: breaker.state,
      since: breaker.since,
    })),
    participants: view.participants.map((participant) => ({
      name: participant.name,
      lastSeenAt: participant.lastSeenAt,
      breaker: participant.breaker,
    })),
    stats: {
      committed: view.stats.committed,
      aborted: view.stats.aborted,
      inDoubt: view.stats.inDoubt,
      oldestInDoubtMs: view.stats.oldestInDoubtMs,
    },
  };
}
