import type { Command } from '../commands';
import type { Effect, Reply } from '../effects';
import { transition } from '../engine';
import type { TxLogEntry } from '../entries';
import { retryDelayMs } from '../limits';
import { decodeSnapshot, encodeSnapshot } from '../snapshot';
import { createEngineState, type EngineState } from '../state';
import { viewTransaction } from '../queries';
import type { CommitWait, JsonValue, Outcome, ParticipantVote, Term, TimelineEvent, TxId } from '../types';
import { CommitPointAudit } from './audit';

/** 2026-11-25T10:00:00.000Z: every table test starts here. */
export const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);

/** UUIDv7-shaped ids that sort by their number: tx1 < tx2 < … */
export function txIdOf(alias: string): TxId {
  const number = Number.parseInt(alias.replace(/^tx/, ''), 10);
  return `0193${String(number).padStart(4, '0')}-0000-7000-8000-000000000000`;
}

export interface CommittedEntry {
  readonly entry: TxLogEntry;
  readonly index: number;
  readonly term: number;
}

/**
 * One coordinator node and a stand-in for Raft, for table tests: `propose` effects queue up and
 * `commit()` hands them back as `entryCommitted`, in order. `failover()` replaces the engine with
 * one rebuilt from the committed log, as a new leader would be. Every effect list is audited.
 * Traces are one line per effect with txIds shown as their aliases.
 */
export class Harness {
  state: EngineState = createEngineState();
  nowMs = T0;
  term: Term = 0;
  readonly log: CommittedEntry[] = [];
  /** Proposed by the current leader, not committed yet. */
  pending: TxLogEntry[] = [];
  readonly audit = new CommitPointAudit();
  readonly replies = new Map<string, Reply>();
  private requestCount = 0;

  step(command: Command): readonly Effect[] {
    const { state, effects } = transition(this.state, command);
    this.state = state;
    this.audit.observe(command, effects);
    for (const effect of effects) {
      if (effect.kind === 'propose') this.pending.push(effect.entry);
      if (effect.kind === 'reply') {
        if (this.replies.has(effect.requestId)) throw new Error(`request ${effect.requestId} answered twice`);
        this.replies.set(effect.requestId, effect.result);
      }
    }
    return effects;
  }

  trace(command: Command): string[] {
    return this.step(command).map(describeEffect);
  }

  nextRequestId(): string {
    this.requestCount += 1;
    return `r${this.requestCount}`;
  }

  lead(term: Term = this.term + 1): string[] {
    this.term = term;
    return this.trace({ kind: 'becameLeader', term, nowMs: this.nowMs });
  }

  /** Commits every pending proposal, in order; returns what applying them produced. */
  commit(count: number = this.pending.length): string[] {
    const lines: string[] = [];
    for (const entry of this.pending.splice(0, count)) {
      const index = this.log.length + 1;
      this.log.push({ entry, index, term: this.term });
      lines.push(...this.trace({ kind: 'entryCommitted', entry, index, position: 0, term: this.term }));
    }
    return lines;
  }

  tick(advanceMs: number): string[] {
    this.nowMs += advanceMs;
    return this.trace({ kind: 'tick', nowMs: this.nowMs });
  }

  begin(
    alias: string,
    participants: readonly string[],
    options: {
      timeoutMs?: number;
      idempotency?: { key: string; fingerprint: string };
      work?: JsonValue;
      requestId?: string;
      commit?: CommitWait;
    } = {},
  ): string[] {
    return this.trace({
      kind: 'begin',
      requestId: options.requestId ?? this.nextRequestId(),
      txId: txIdOf(alias),
      participants: participants.map((name) => ({ name, work: options.work ?? { step: name } })),
      timeoutMs: options.timeoutMs ?? 5000,
      metadata: { order: alias },
      idempotency: options.idempotency ?? null,
      commit: options.commit ?? null,
    });
  }

  enlist(alias: string, name: string, work: JsonValue = { step: name }): string[] {
    return this.trace({
      kind: 'enlist',
      requestId: this.nextRequestId(),
      txId: txIdOf(alias),
      participant: { name, work },
    });
  }

  commitRequested(alias: string, wait: CommitWait = 'decision'): string[] {
    return this.trace({
      kind: 'commitRequested',
      requestId: this.nextRequestId(),
      txId: txIdOf(alias),
      wait,
    });
  }

  abortRequested(alias: string): string[] {
    return this.trace({ kind: 'abortRequested', requestId: this.nextRequestId(), txId: txIdOf(alias) });
  }

  vote(alias: string, participant: string, vote: ParticipantVote, reason: string | null = null): string[] {
    return this.trace({
      kind: 'participantVote',
      txId: txIdOf(alias),
      participant,
      vote,
      reason,
      term: this.term,
    });
  }

  ack(alias: string, participant: string, outcome: Outcome): string[] {
    return this.trace({ kind: 'ack', txId: txIdOf(alias), participant, outcome, term: this.term });
  }

  resolve(
    alias: string,
    outcome: Outcome,
    reason = 'participant confirmed by phone',
    resolvedBy = 'operator:ada',
  ): string[] {
    return this.trace({
      kind: 'operatorResolve',
      requestId: this.nextRequestId(),
      txId: txIdOf(alias),
      outcome,
      reason,
      resolvedBy,
    });
  }

  /** begin + BEGIN committed. */
  started(alias: string, participants: readonly string[], timeoutMs = 5000): void {
    this.begin(alias, participants, { timeoutMs });
    this.commit();
  }

  /** started + commit requested: PREPAREs sent, PREPARING held back for the votes. */
  preparing(alias: string, participants: readonly string[], wait: CommitWait = 'decision'): void {
    this.started(alias, participants);
    this.commitRequested(alias, wait);
  }

  /**
   * preparing + no vote by the first re-send (200 ms): PREPARE went out twice and PREPARING is
   * committed. Where a slow transaction is when a leader change or an operator finds it.
   */
  preparingLogged(alias: string, participants: readonly string[], wait: CommitWait = 'decision'): void {
    this.preparing(alias, participants, wait);
    this.tick(retryDelayMs(0));
    this.commit();
  }

  /** Every participant votes YES, the DECISION COMMIT is committed (COMMITs sent). */
  committing(alias: string, participants: readonly string[]): void {
    this.preparing(alias, participants);
    for (const participant of participants) this.vote(alias, participant, 'YES');
    this.commit();
  }

  /**
   * The leader dies: it hears lostLeadership; `survivors` of its pending proposals make it into
   * the log (committed by the next leader), the rest are lost. The successor is rebuilt from the
   * committed log (or from a snapshot of it) and becomes leader of the next term.
   */
  failover(options: { survivors?: number; viaSnapshot?: boolean } = {}): {
    old: string[];
    successor: string[];
  } {
    const old = this.trace({ kind: 'lostLeadership' });
    const survivors = this.pending.splice(0, options.survivors ?? 0);
    this.pending = [];
    for (const entry of survivors) this.log.push({ entry, index: this.log.length + 1, term: this.term });
    let rebuilt = createEngineState();
    for (const { entry, index, term } of this.log) {
      const command: Command = { kind: 'entryCommitted', entry, index, position: 0, term };
      const applied = transition(rebuilt, command);
      this.audit.observe(command, applied.effects);
      rebuilt = applied.state;
    }
    if (options.viaSnapshot === true) {
      rebuilt = decodeSnapshot(encodeSnapshot(rebuilt));
      this.audit.learnFromSnapshot(rebuilt);
    }
    this.state = rebuilt;
    return { old, successor: this.lead() };
  }

  alias(txId: TxId): string {
    return aliasOf(txId);
  }

  /** The transaction's timeline as this node shows it, one line per event (see describeTimeline). */
  timeline(alias: string): string[] {
    const view = viewTransaction(this.state, txIdOf(alias), this.nowMs);
    if (view === null) throw new Error(`${alias} is not live`);
    return describeTimeline(view.timeline);
  }
}

/**
 * One line per event: `+ms KIND participant: detail [index/term] by actor`, times relative to T0,
 * `-` for a transaction-wide event; the Raft position and actor only where there is one.
 */
export function describeTimeline(events: readonly TimelineEvent[]): string[] {
  return events.map((event) => {
    const position = event.raftIndex === null ? '' : ` [${event.raftIndex}/${event.raftTerm}]`;
    const actor = event.actor === null ? '' : ` by ${event.actor}`;
    return `+${event.atMs - T0} ${event.kind} ${event.participant ?? '-'}: ${event.detail}${position}${actor}`;
  });
}

export function aliasOf(txId: TxId): string {
  const match = /^0193(\d{4})-0000-7000-8000-000000000000$/.exec(txId);
  return match === null ? txId : `tx${Number.parseInt(match[1] as string, 10)}`;
}

/** One line per effect, txIds as aliases: what the table tests compare. */
export function describeEffect(effect: Effect): string {
  switch (effect.kind) {
    case 'propose': {
      const entry = effect.entry;
      switch (entry.kind) {
        case 'BEGIN':
          return `propose BEGIN ${aliasOf(entry.txId)} ${entry.participants.map((each) => each.name).join(',')}`;
        case 'ENLIST':
          return `propose ENLIST ${aliasOf(entry.txId)} ${entry.participant.name}`;
        case 'PREPARING':
          return `propose PREPARING ${aliasOf(entry.txId)}`;
        case 'DECISION': {
          const by = entry.resolvedBy === null ? '' : ` by ${entry.resolvedBy}`;
          return `propose DECISION ${aliasOf(entry.txId)} ${entry.outcome} ${entry.cause}${by}: ${entry.reason}`;
        }
        case 'END':
          return `propose END ${entry.txIds.map(aliasOf).join(',')}`;
      }
      break;
    }
    case 'send': {
      const message = effect.message;
      return `send ${effect.participant} ${message.type} ${aliasOf(message.txId)} term=${message.term} attempt=${message.attempt}`;
    }
    case 'reply': {
      const result = effect.result;
      if (!result.ok) return `reply ${effect.requestId} ${result.error.code}`;
      const value = result.value;
      switch (value.kind) {
        case 'begun':
          return `reply ${effect.requestId} begun ${aliasOf(value.txId)}${value.replayed ? ' (replayed)' : ''}`;
        case 'enlisted':
          return `reply ${effect.requestId} enlisted ${aliasOf(value.txId)} ${value.participant}`;
        case 'decided':
          return `reply ${effect.requestId} decided ${aliasOf(value.txId)} ${value.decision.outcome} at ${value.decision.raftIndex}/${value.decision.raftTerm}`;
        case 'completed':
          return `reply ${effect.requestId} completed ${aliasOf(value.txId)} ${value.decision.outcome}`;
        case 'outcome':
          return `reply ${effect.requestId} outcome ${aliasOf(value.txId)} ${value.outcome}`;
        case 'retried':
          return `reply ${effect.requestId} retried ${aliasOf(value.txId)} ${value.phase} ${value.participants.join(',')}`;
      }
      break;
    }
    case 'archive':
      return `archive ${aliasOf(effect.record.txId)} ${effect.record.state}`;
    case 'lookUpOutcome':
      return `look up ${aliasOf(effect.txId)} in history for ${effect.participant ?? effect.requestId ?? '?'}`;
    case 'notice':
      return `notice ${effect.level} ${effect.code}${effect.txId === null ? '' : ` ${aliasOf(effect.txId)}`}${
        effect.participant === null ? '' : ` ${effect.participant}`
      }`;
  }
}
