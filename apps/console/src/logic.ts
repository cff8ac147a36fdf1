// Pure functions behind the pages: what to say about a stuck transaction, which operator actions
// are safe, the order of the list, and rates from counter readings. No DOM, no fetch, no clock
// (the caller passes `nowMs`), so the unit tests pin them down exactly.
import type { BreakerState, ClusterStats, ClusterStatus, Role, TimelineEvent, Transaction } from './api';

/** "850ms", "45s", "2m 10s", "3h 5m", "2d 4h": the coordinator's own wording. */
export function formatDuration(durationMs: number): string {
  const ms = Math.max(0, Math.floor(durationMs));
  if (ms < 1000) return `${ms}ms`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** How long ago an ISO timestamp was; "—" for none. */
export function formatAge(iso: string | null, nowMs: number): string {
  if (iso === null) return '—';
  const atMs = Date.parse(iso);
  return Number.isNaN(atMs) ? '—' : formatDuration(nowMs - atMs);
}

/**
 * The stuck reason in plain words: the coordinator's sentence ("waiting for vote from bank-b for
 * 2m 10s, 14 attempts"), then what it implies for the people fixing it: who holds the transaction
 * prepared, whether the deadline passed, and which breakers are not closed.
 */
export function describeStuck(tx: Transaction, nowMs: number): string | null {
  if (tx.stuck === null) return null;
  const parts = [tx.stuck.reason];
  if (tx.decision === null) {
    const prepared = tx.participants.filter((participant) => participant.vote === 'YES');
    const silent = tx.participants.filter((participant) => participant.vote === null);
    if (prepared.length > 0 && tx.state === 'PREPARING') {
      parts.push(`prepared at ${prepared.map((participant) => participant.name).join(', ')}`);
    }
    const deadlineMs = Date.parse(tx.deadline);
    if (silent.length > 0 && !Number.isNaN(deadlineMs) && deadlineMs < nowMs) {
      const names = silent.map((participant) => participant.name).join(', ');
      parts.push(`no vote from ${names} before the deadline (${formatDuration(nowMs - deadlineMs)} ago)`);
    }
  }
  const waitedOn = tx.participants.filter((participant) =>
    tx.decision === null ? participant.vote === null : !participant.ack,
  );
  for (const participant of waitedOn) {
    if (participant.breaker !== 'CLOSED') {
      parts.push(`breaker ${participant.breaker === 'OPEN' ? 'open' : 'half-open'} for ${participant.name}`);
    }
  }
  return parts.join('; ');
}

export interface SafeActions {
  /** Record ABORT by hand: allowed while no decision exists. */
  readonly resolveAbort: boolean;
  /** Record COMMIT by hand: only in PREPARING with every participant's YES (or READ_ONLY) known. */
  readonly resolveCommit: boolean;
  /** Why COMMIT is not offered while ABORT is; null otherwise. */
  readonly commitWithheld: string | null;
  /** Re-send the decision to those that have not acknowledged it. */
  readonly retryPhaseTwo: boolean;
}

const NO_ACTIONS: SafeActions = {
  resolveAbort: false,
  resolveCommit: false,
  commitWithheld: null,
  retryPhaseTwo: false,
};

/** The actions that are safe now, by the same rules the coordinator enforces; none for `service`. */
export function safeActions(tx: Transaction, role: Role): SafeActions {
  if (role !== 'operator') return NO_ACTIONS;
  const retryPhaseTwo = tx.state === 'COMMITTING' || tx.state === 'ABORTING';
  if (tx.decision !== null) return { ...NO_ACTIONS, retryPhaseTwo };
  const unknown = tx.participants
    .filter((participant) => participant.vote !== 'YES' && participant.vote !== 'READ_ONLY')
    .map((participant) => participant.name);
  let commitWithheld: string | null = null;
  if (tx.state !== 'PREPARING') {
    commitWithheld = `commit was never requested (${tx.state}), so no participant voted`;
  } else if (unknown.length > 0) {
    commitWithheld = `no YES known from ${unknown.join(', ')}`;
  }
  return { resolveAbort: true, resolveCommit: commitWithheld === null, commitWithheld, retryPhaseTwo };
}

/**
 * The list as the console shows it: stuck transactions first (longest stuck on top), then the
 * rest newest first. `stuck` is fetched separately so a stuck transaction is never paged away.
 */
export function orderForList(
  stuck: readonly Transaction[],
  others: readonly Transaction[],
): readonly Transaction[] {
  const seen = new Set<string>();
  const merged: Transaction[] = [];
  for (const tx of [...stuck, ...others]) {
    if (seen.has(tx.id)) continue;
    seen.add(tx.id);
    merged.push(tx);
  }
  const stuckSinceMs = (tx: Transaction): number =>
    tx.stuck === null ? Number.POSITIVE_INFINITY : Date.parse(tx.stuck.since);
  return merged.sort((left, right) => {
    const byStuck = stuckSinceMs(left) - stuckSinceMs(right);
    if (byStuck !== 0 && !Number.isNaN(byStuck)) return byStuck;
    return left.id < right.id ? 1 : left.id > right.id ? -1 : 0; // UUIDv7: larger id is newer
  });
}

/**
 * The events to show. The coordinator's timeline when it sends one; otherwise (a node without
 * timelines) what the transaction resource itself says: begin, decision with who made it, ACKs.
 */
export function timelineOf(tx: Transaction): readonly TimelineEvent[] {
  if (tx.timeline !== undefined && tx.timeline.length > 0) return tx.timeline;
  const event = (
    at: string,
    kind: string,
    detail: string,
    extra: Partial<TimelineEvent> = {},
  ): TimelineEvent => ({
    at,
    kind,
    detail,
    participant: null,
    raftIndex: null,
    raftTerm: null,
    actor: null,
    ...extra,
  });
  const events: TimelineEvent[] = [
    event(tx.createdAt, 'BEGIN', `began with ${tx.participants.map((each) => each.name).join(', ')}`),
  ];
  if (tx.decision !== null) {
    events.push(
      event(tx.decision.decidedAt, 'DECISION', `${tx.decision.outcome}: ${tx.decision.reason}`, {
        raftIndex: tx.decision.raftIndex,
        raftTerm: tx.decision.raftTerm,
        actor: tx.decision.resolvedBy,
      }),
    );
  }
  for (const participant of tx.participants) {
    if (participant.ackedAt !== null) {
      events.push(event(participant.ackedAt, 'ACK', 'acknowledged', { participant: participant.name }));
    }
  }
  return events.sort((left, right) => Date.parse(left.at) - Date.parse(right.at));
}

/** One reading of GET /v1/cluster's counters. */
export interface StatsSample {
  readonly atMs: number;
  readonly decided: number;
  readonly inDoubt: number;
}

export function sampleOf(stats: ClusterStats, atMs: number): StatsSample {
  return { atMs, decided: stats.committed + stats.aborted, inDoubt: stats.inDoubt };
}

/** Appends a reading and drops those older than `windowMs` before it. */
export function keepWindow(
  samples: readonly StatsSample[],
  next: StatsSample,
  windowMs: number,
): readonly StatsSample[] {
  return [...samples, next].filter((sample) => sample.atMs >= next.atMs - windowMs);
}

export interface ChartSeries {
  /** Seconds since the epoch, as uPlot wants its x axis. */
  readonly times: number[];
  /** Decisions per second between a reading and the one before; null for the first and after a counter reset. */
  readonly decisionsPerSecond: (number | null)[];
  readonly inDoubt: number[];
}

/**
 * Rates from counters "since the node started": the difference of two readings over the time
 * between them. A counter that went down means the node restarted; that step has no rate.
 */
export function chartSeries(samples: readonly StatsSample[]): ChartSeries {
  const series: ChartSeries = { times: [], decisionsPerSecond: [], inDoubt: [] };
  samples.forEach((sample, position) => {
    const previous = position === 0 ? undefined : samples[position - 1];
    let rate: number | null = null;
    if (previous !== undefined && sample.atMs > previous.atMs && sample.decided >= previous.decided) {
      rate = ((sample.decided - previous.decided) * 1000) / (sample.atMs - previous.atMs);
    }
    series.times.push(sample.atMs / 1000);
    series.decisionsPerSecond.push(rate);
    series.inDoubt.push(sample.inDoubt);
  });
  return series;
}

/** One row of the cluster page's participant table. */
export interface ParticipantRow {
  readonly name: string;
  /** null when this node keeps no breaker for it. */
  readonly breaker: { readonly state: BreakerState; readonly since: string } | null;
  readonly lastSeenAt: string | null;
}

/** The breakers joined with the last-seen times, one row per participant, by name. */
export function participantRows(status: ClusterStatus): ParticipantRow[] {
  const rows = new Map<string, { breaker: ParticipantRow['breaker']; lastSeenAt: string | null }>();
  for (const breaker of status.breakers)
    rows.set(breaker.participant, {
      breaker: { state: breaker.state, since: breaker.since },
      lastSeenAt: null,
    });
  for (const participant of status.participants ?? []) {
    const row = rows.get(participant.name);
    if (row === undefined) rows.set(participant.name, { breaker: null, lastSeenAt: participant.lastSeenAt });
    else row.lastSeenAt = participant.lastSeenAt;
  }
  return [...rows.entries()]
    .map(([name, row]) => ({ name, ...row }))
    .sort((left, right) => (left.name < right.name ? -1 : left.name > right.name ? 1 : 0));
}
