import type {
  BreakerState,
  DecisionView,
  ParticipantView,
  TimelineEventView,
  TransactionView,
} from '../api/coordinator.port';
import {
  isoTime,
  type DecisionRecord,
  type TimelineEvent,
  type TransactionView as EngineTransactionView,
} from '../engine';
import type { FinishedTimelineEvent, FinishedTransaction } from '../history/finished-transaction';
import type { BreakerStateName } from '../transport/participant-breakers';

// Mappers between the engine's records (epoch milliseconds, live progress), the history's rows
// (ISO strings) and the API's resource. Nothing here decides anything.

const BREAKER_STATES: Readonly<Record<BreakerStateName, BreakerState>> = {
  closed: 'CLOSED',
  open: 'OPEN',
  halfOpen: 'HALF_OPEN',
};

export function toBreakerState(state: BreakerStateName | undefined): BreakerState {
  return state === undefined ? 'CLOSED' : BREAKER_STATES[state];
}

export function toDecisionView(decision: Omit<DecisionRecord, 'cause'>): DecisionView {
  return {
    outcome: decision.outcome,
    raftIndex: decision.raftIndex,
    raftTerm: decision.raftTerm,
    reason: decision.reason,
    resolvedBy: decision.resolvedBy,
    decidedAt: isoTime(decision.decidedAtMs),
  };
}

export function fromEngineView(
  view: EngineTransactionView,
  breakerOf: (participant: string) => BreakerState,
): TransactionView {
  return {
    id: view.txId,
    state: view.state,
    decision: view.decision === null ? null : toDecisionView(view.decision),
    participants: view.participants.map((participant): ParticipantView => ({
      name: participant.name,
      vote: participant.vote,
      voteReason: participant.voteReason,
      ack: participant.ack,
      ackedAt: participant.ackedAtMs === null ? null : isoTime(participant.ackedAtMs),
      attempts: participant.attempts,
      lastError: participant.lastError,
      breaker: breakerOf(participant.name),
    })),
    createdAt: isoTime(view.createdAtMs),
    deadline: isoTime(view.deadlineMs),
    metadata: view.metadata,
    stuck: view.stuck === null ? null : { since: isoTime(view.stuck.sinceMs), reason: view.stuck.reason },
    finishedAt: view.finishedAtMs === null ? null : isoTime(view.finishedAtMs),
    timeline: view.timeline.map(toTimelineEventView),
  };
}

export function fromHistory(finished: FinishedTransaction): TransactionView {
  return {
    id: finished.txId,
    state: finished.state,
    decision: toDecisionView(finished.decision),
    participants: finished.participants.map((branch): ParticipantView => ({
      name: branch.name,
      vote: branch.vote,
      voteReason: branch.voteReason,
      ack: branch.ackedAtMs !== null,
      ackedAt: branch.ackedAtMs === null ? null : isoTime(branch.ackedAtMs),
      attempts: branch.attempts,
      lastError: branch.lastError,
      breaker: 'CLOSED',
    })),
    createdAt: isoTime(finished.createdAtMs),
    deadline: isoTime(finished.deadlineMs),
    metadata: finished.metadata,
    stuck: null,
    finishedAt: isoTime(finished.finishedAtMs),
    timeline: finished.timeline.map(toTimelineEventView),
  };
}

export function toTimelineEventView(event: TimelineEvent | FinishedTimelineEvent): TimelineEventView {
  return {
    at: isoTime(event.atMs),
    kind: event.kind,
    participant: event.participant,
    detail: event.detail,
    raftIndex: event.raftIndex,
    raftTerm: event.raftTerm,
    actor: event.actor,
  };
}
