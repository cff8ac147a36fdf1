import { describe, expect, it } from 'vitest';
import type { ClusterStatus, ParticipantStatus, Transaction } from './api';
import {
  chartSeries,
  describeStuck,
  formatAge,
  formatDuration,
  keepWindow,
  orderForList,
  participantRows,
  safeActions,
  timelineOf,
  type StatsSample,
} from './logic';

const NOW_MS = Date.parse('2026-11-25T12:00:00.000Z');

function participant(name: string, fields: Partial<ParticipantStatus> = {}): ParticipantStatus {
  return {
    name,
    vote: null,
    voteReason: null,
    ack: false,
    ackedAt: null,
    attempts: 0,
    lastError: null,
    breaker: 'CLOSED',
    ...fields,
  };
}

function transaction(fields: Partial<Transaction> = {}): Transaction {
  return {
    id: '019ab000-0000-7000-8000-000000000001',
    state: 'PREPARING',
    decision: null,
    participants: [participant('bank-a', { vote: 'YES' }), participant('bank-b')],
    createdAt: '2026-11-25T11:57:00.000Z',
    deadline: '2026-11-25T11:59:00.000Z',
    metadata: {},
    stuck: null,
    finishedAt: null,
    ...fields,
  };
}

describe('formatDuration and formatAge', () => {
  it.each([
    [850, '850ms'],
    [45_000, '45s'],
    [130_000, '2m 10s'],
    [11_100_000, '3h 5m'],
    [187_200_000, '2d 4h'],
    [-5, '0ms'],
  ])('%d ms reads %s', (ms, words) => {
    expect(formatDuration(ms)).toBe(words);
  });

  it('ages an ISO time against now, and says — for none or garbage', () => {
    expect(formatAge('2026-11-25T11:57:50.000Z', NOW_MS)).toBe('2m 10s');
    expect(formatAge(null, NOW_MS)).toBe('—');
    expect(formatAge('yesterday', NOW_MS)).toBe('—');
  });
});

describe('describeStuck', () => {
  it('is null for a transaction that is not stuck', () => {
    expect(describeStuck(transaction(), NOW_MS)).toBeNull();
  });

  it('adds who is prepared, the missed deadline and an open breaker to the coordinator reason', () => {
    const tx = transaction({
      participants: [participant('bank-a', { vote: 'YES' }), participant('bank-b', { breaker: 'OPEN' })],
      stuck: {
        since: '2026-11-25T11:58:00.000Z',
        reason: 'waiting for vote from bank-b for 2m 0s, 14 attempts',
      },
    });
    expect(describeStuck(tx, NOW_MS)).toBe(
      'waiting for vote from bank-b for 2m 0s, 14 attempts; prepared at bank-a; ' +
        'no vote from bank-b before the deadline (1m 0s ago); breaker open for bank-b',
    );
  });

  it('after a decision, names breakers only of participants that have not acknowledged', () => {
    const tx = transaction({
      state: 'COMMITTING',
      decision: {
        outcome: 'COMMIT',
        raftIndex: 12,
        raftTerm: 3,
        reason: 'all participants voted YES',
        resolvedBy: null,
        decidedAt: '2026-11-25T11:57:30.000Z',
      },
      participants: [
        participant('bank-a', { vote: 'YES', ack: true, breaker: 'HALF_OPEN' }),
        participant('bank-b', { vote: 'YES', breaker: 'HALF_OPEN' }),
      ],
      stuck: {
        since: '2026-11-25T11:57:30.000Z',
        reason: 'waiting for ACK from bank-b for 2m 30s, 9 attempts',
      },
    });
    expect(describeStuck(tx, NOW_MS)).toBe(
      'waiting for ACK from bank-b for 2m 30s, 9 attempts; breaker half-open for bank-b',
    );
  });
});

describe('safeActions', () => {
  it('a service key gets no action at all', () => {
    expect(safeActions(transaction(), 'service')).toEqual({
      resolveAbort: false,
      resolveCommit: false,
      commitWithheld: null,
      retryPhaseTwo: false,
    });
  });

  it('undecided with a vote missing: abort offered, commit withheld with the reason', () => {
    expect(safeActions(transaction(), 'operator')).toEqual({
      resolveAbort: true,
      resolveCommit: false,
      commitWithheld: 'no YES known from bank-b',
      retryPhaseTwo: false,
    });
  });

  it('undecided in PREPARING with every YES (or READ_ONLY) known: commit offered too', () => {
    const tx = transaction({
      participants: [participant('bank-a', { vote: 'YES' }), participant('bank-b', { vote: 'READ_ONLY' })],
    });
    expect(safeActions(tx, 'operator')).toMatchObject({ resolveAbort: true, resolveCommit: true });
  });

  it('ACTIVE: nobody voted, so only abort', () => {
    const actions = safeActions(transaction({ state: 'ACTIVE' }), 'operator');
    expect(actions.resolveCommit).toBe(false);
    expect(actions.commitWithheld).toMatch(/never requested/);
  });

  it('decided: no resolution; retry of phase two only while it is running', () => {
    const decision = {
      outcome: 'ABORT' as const,
      raftIndex: 4,
      raftTerm: 1,
      reason: 'r',
      resolvedBy: null,
      decidedAt: '2026-11-25T11:58:00.000Z',
    };
    expect(safeActions(transaction({ state: 'ABORTING', decision }), 'operator')).toEqual({
      resolveAbort: false,
      resolveCommit: false,
      commitWithheld: null,
      retryPhaseTwo: true,
    });
    expect(safeActions(transaction({ state: 'ABORTED', decision }), 'operator').retryPhaseTwo).toBe(false);
  });
});

describe('orderForList', () => {
  it('puts stuck ones first, longest stuck on top, then newest first, each once', () => {
    const old = transaction({ id: '019ab000-0000-7000-8000-000000000001' });
    const newer = transaction({ id: '019ab000-0000-7000-8000-000000000005' });
    const stuckLong = transaction({
      id: '019ab000-0000-7000-8000-000000000003',
      stuck: { since: '2026-11-25T11:50:00.000Z', reason: 'a' },
    });
    const stuckShort = transaction({
      id: '019ab000-0000-7000-8000-000000000004',
      stuck: { since: '2026-11-25T11:55:00.000Z', reason: 'b' },
    });
    const ordered = orderForList([stuckShort, stuckLong], [old, stuckShort, newer]);
    expect(ordered.map((tx) => tx.id.slice(-1))).toEqual(['3', '4', '5', '1']);
  });
});

describe('timelineOf', () => {
  it('uses the coordinator timeline when there is one', () => {
    const timeline = [
      {
        at: '2026-11-25T11:57:00.000Z',
        kind: 'BEGIN',
        participant: null,
        detail: 'began',
        raftIndex: 3,
        raftTerm: 1,
        actor: null,
      },
    ];
    expect(timelineOf(transaction({ timeline }))).toBe(timeline);
  });

  it('without one, builds begin, the decision with who made it, and ACKs in time order', () => {
    const tx = transaction({
      state: 'ABORTED',
      decision: {
        outcome: 'ABORT',
        raftIndex: 9,
        raftTerm: 2,
        reason: 'bank-b is being repaired',
        resolvedBy: 'operator:3f9a0c1d2e4b',
        decidedAt: '2026-11-25T11:58:00.000Z',
      },
      participants: [participant('bank-a', { vote: 'YES', ack: true, ackedAt: '2026-11-25T11:58:01.000Z' })],
    });
    expect(timelineOf(tx).map((event) => [event.kind, event.actor, event.participant])).toEqual([
      ['BEGIN', null, null],
      ['DECISION', 'operator:3f9a0c1d2e4b', null],
      ['ACK', null, 'bank-a'],
    ]);
  });
});

describe('chartSeries', () => {
  const sample = (atMs: number, decided: number, inDoubt = 0): StatsSample => ({ atMs, decided, inDoubt });

  it('turns counter readings into decisions per second, none for the first reading', () => {
    const series = chartSeries([sample(10_000, 100, 1), sample(12_000, 130, 2), sample(14_000, 130, 0)]);
    expect(series.times).toEqual([10, 12, 14]);
    expect(series.decisionsPerSecond).toEqual([null, 15, 0]);
    expect(series.inDoubt).toEqual([1, 2, 0]);
  });

  it('a counter that went down (the node restarted) gives no rate for that step', () => {
    expect(chartSeries([sample(0, 500), sample(2_000, 4), sample(4_000, 10)]).decisionsPerSecond).toEqual([
      null,
      null,
      3,
    ]);
  });

  it('keeps only the readings of the last window', () => {
    const kept = keepWindow(
      [sample(0, 1), sample(60_000, 2), sample(100_000, 3)],
      sample(170_000, 4),
      100_000,
    );
    expect(kept.map((each) => each.atMs)).toEqual([100_000, 170_000]);
  });
});

describe('participantRows', () => {
  const status: ClusterStatus = {
    nodeId: 'n1',
    role: 'LEADER',
    term: 2,
    leaderId: 'n1',
    commitIndex: 9,
    appliedIndex: 9,
    members: [],
    breakers: [
      { participant: 'bank-b', state: 'OPEN', since: '2026-11-25T11:59:00.000Z' },
      { participant: 'bank-a', state: 'CLOSED', since: '2026-11-25T11:00:00.000Z' },
    ],
    participants: [
      { name: 'bank-a', lastSeenAt: '2026-11-25T11:59:58.000Z', breaker: 'CLOSED' },
      { name: 'bank-b', lastSeenAt: null, breaker: 'OPEN' },
      { name: 'audit', lastSeenAt: '2026-11-25T11:30:00.000Z', breaker: null },
    ],
  };

  it('joins each breaker with its last-seen time, adds participants only heard from, by name', () => {
    expect(participantRows(status)).toEqual([
      { name: 'audit', breaker: null, lastSeenAt: '2026-11-25T11:30:00.000Z' },
      {
        name: 'bank-a',
        breaker: { state: 'CLOSED', since: '2026-11-25T11:00:00.000Z' },
        lastSeenAt: '2026-11-25T11:59:58.000Z',
      },
      { name: 'bank-b', breaker: { state: 'OPEN', since: '2026-11-25T11:59:00.000Z' }, lastSeenAt: null },
    ]);
  });

  it('a coordinator without last-seen times still lists its breakers', () => {
    const { participants: _participants, ...older } = status;
    expect(participantRows(older).map((row) => [row.name, row.lastSeenAt])).toEqual([
      ['bank-a', null],
      ['bank-b', null],
    ]);
  });
});
