import { assert } from './assert';
import { TIMELINE_EVENTS_KEPT_FIRST, TIMELINE_LEADER_EVENTS_PER_TX_MAX } from './limits';
import type { EngineState, LeaderTimelineEvent, LeaderTx, PrepareRequested, TxRecord } from './state';
import type { Index, ParticipantName, TimelineEvent, TimelineEventKind } from './types';

// The timeline of one transaction, for operators: what happened to it, oldest first.
//
// Two sources, merged at read time:
// - its replicated record (BEGIN, ENLIST, PREPARING, DECISION with their Raft index and term),
//   the same on every node;
// - what the leader saw and did (PREPARE_SENT, VOTE, DECISION_SENT, ACK, RETRY, RESUMED,
//   ARCHIVED), kept in LeaderTx, bounded by folding repeats, and gone with the leader: a new
//   leader starts its part with RESUMED.
//
// Order: by the Raft index a thing happened at. A replicated event sits at its entry's index; a
// leader event sits after every entry applied when it happened. So a VOTE lands before the
// DECISION it caused even when both carry the same millisecond. One exception, on the leader
// that asked for the prepare round: PREPARING (and a held BEGIN) sits where it was asked for,
// before the PREPAREs it sent, although the log got it later (with the DECISION when held).

/** Marks where this leader asks for the prepare round; the first time counts. */
export function recordPrepareRequested(state: EngineState, leaderTx: LeaderTx): void {
  const timeline = leaderTx.timeline;
  timeline.prepareRequested ??= {
    afterIndex: state.replicated.appliedIndex,
    sequence: timeline.nextSequence,
  };
}

/** Records a leader-only event; repeats beyond the first few fold into one (see limits.ts). */
export function recordLeaderEvent(
  state: EngineState,
  leaderTx: LeaderTx,
  kind: TimelineEventKind,
  participant: ParticipantName | null,
  detail: string,
  actor: string | null = null,
): void {
  const timeline = leaderTx.timeline;
  const key = participant === null ? kind : `${kind} ${participant}`;
  let seen = timeline.keys.get(key);
  if (seen === undefined) {
    seen = { count: 0, folded: null };
    timeline.keys.set(key, seen);
  }
  seen.count += 1;
  const sequence = timeline.nextSequence;
  timeline.nextSequence += 1;
  const afterIndex = state.replicated.appliedIndex;
  if (seen.folded !== null) {
    // The folded event moves to now: it shows the latest of the repeats.
    const folded = seen.folded;
    folded.atMs = state.nowMs;
    folded.detail = detail;
    folded.actor = actor;
    folded.folded += 1;
    folded.afterIndex = afterIndex;
    folded.sequence = sequence;
    return;
  }
  const event: LeaderTimelineEvent = {
    kind,
    participant,
    actor,
    atMs: state.nowMs,
    detail,
    folded: 1,
    afterIndex,
    sequence,
  };
  if (seen.count > TIMELINE_EVENTS_KEPT_FIRST) seen.folded = event;
  timeline.events.push(event);
  assert(
    timeline.events.length <= TIMELINE_LEADER_EVENTS_PER_TX_MAX,
    `timeline holds ${timeline.events.length} leader events > ${TIMELINE_LEADER_EVENTS_PER_TX_MAX}: folding failed`,
  );
}

interface Placed {
  readonly event: TimelineEvent;
  /** Raft index it sits at (replicated) or after (leader). */
  readonly index: Index;
  /** 0 for replicated events, which come before leader events at the same index. */
  readonly rank: 0 | 1;
  readonly order: number;
}

/** The whole timeline of a live transaction; `leaderTx` absent on a follower. */
export function transactionTimeline(tx: TxRecord, leaderTx: LeaderTx | undefined): TimelineEvent[] {
  const placed = replicatedEvents(tx, leaderTx?.timeline.prepareRequested ?? null);
  for (const event of leaderTx?.timeline.events ?? []) {
    placed.push({
      event: {
        atMs: event.atMs,
        kind: event.kind,
        participant: event.participant,
        detail:
          event.folded === 1
            ? event.detail
            : `${event.detail} (the latest of ${event.folded}, shown as one event)`,
        raftIndex: null,
        raftTerm: null,
        actor: event.actor,
      },
      index: event.afterIndex,
      rank: 1,
      order: event.sequence,
    });
  }
  placed.sort(
    (left, right) => left.index - right.index || left.rank - right.rank || left.order - right.order,
  );
  return placed.map((each) => each.event);
}

type Place = Pick<Placed, 'index' | 'rank' | 'order'>;

function replicatedEvents(tx: TxRecord, requested: PrepareRequested | null): Placed[] {
  const placed: Placed[] = [];
  // Where the leader asked for the prepare round: slots between its leader event before and the
  // one after, in this order: BEGIN, the participants, PREPARING.
  const slots = tx.participants.length + 2;
  const atRequest = (slot: number): Place | null =>
    requested === null
      ? null
      : { index: requested.afterIndex, rank: 1, order: requested.sequence - 1 + (slot + 1) / (slots + 1) };
  // Asked for before its BEGIN was applied: a BEGIN held with the PREPARING, shown with it.
  const withBegin = requested !== null && tx.begun !== null && requested.afterIndex < tx.begun.index;
  // A record restored from a v1 snapshot has no BEGIN or ENLIST index: they sort first, which is
  // where they happened.
  const beginIndex = tx.begun?.index ?? 0;
  const namedAtBegin = tx.enlistments.filter((each) => each.index !== null && each.index === tx.begun?.index);
  placed.push({
    event: {
      atMs: tx.createdAtMs,
      kind: 'BEGIN',
      participant: null,
      detail: `began with ${namedAtBegin.length} participant${namedAtBegin.length === 1 ? '' : 's'} named`,
      raftIndex: tx.begun?.index ?? null,
      raftTerm: tx.begun?.term ?? null,
      actor: null,
    },
    ...((withBegin ? atRequest(0) : null) ?? { index: beginIndex, rank: 0, order: 0 }),
  });
  tx.participants.forEach((participant, position) => {
    const enlistment = tx.enlistments[position];
    assert(enlistment !== undefined, `no enlistment record for ${participant.name} in ${tx.txId}`);
    const atBegin = enlistment.index !== null && enlistment.index === tx.begun?.index;
    placed.push({
      event: {
        atMs: enlistment.atMs ?? tx.createdAtMs,
        kind: 'ENLIST',
        participant: participant.name,
        detail: atBegin
          ? 'enlisted at begin'
          : enlistment.atMs === null
            ? 'enlisted (when was not recorded)'
            : 'enlisted',
        raftIndex: enlistment.index,
        raftTerm: enlistment.term,
        actor: null,
      },
      ...((withBegin && atBegin ? atRequest(1 + position) : null) ?? {
        index: enlistment.index ?? beginIndex,
        rank: 0,
        order: 1 + position,
      }),
    });
  });
  const afterParticipants = 1 + tx.participants.length;
  if (tx.prepare !== null) {
    placed.push({
      event: {
        atMs: tx.prepare.atMs,
        kind: 'PREPARING',
        participant: null,
        detail: `commit requested: asking ${tx.participants.length} participant${tx.participants.length === 1 ? '' : 's'} to prepare`,
        raftIndex: tx.prepare.index,
        raftTerm: tx.prepare.term,
        actor: null,
      },
      ...(atRequest(afterParticipants) ?? { index: tx.prepare.index, rank: 0, order: afterParticipants }),
    });
  }
  const decision = tx.decision;
  if (decision !== null) {
    placed.push({
      event: {
        atMs: decision.decidedAtMs,
        kind: 'DECISION',
        participant: null,
        detail:
          decision.cause === 'OPERATOR'
            ? `resolved ${decision.outcome} by an operator: ${decision.reason}`
            : `decided ${decision.outcome}: ${decision.reason}`,
        raftIndex: decision.raftIndex,
        raftTerm: decision.raftTerm,
        actor: decision.resolvedBy,
      },
      index: decision.raftIndex,
      rank: 0,
      order: afterParticipants + 1,
    });
  }
  return placed;
}
