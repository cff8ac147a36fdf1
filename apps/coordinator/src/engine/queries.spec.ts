import { describe, expect, it } from 'vitest';
import { decodeSnapshot, encodeSnapshot } from './snapshot';
import { formatDuration, listTransactions, viewTransaction } from './queries';
import { itAuditedEveryEffectList } from './test/audit';
import { describeTimeline, Harness, T0, txIdOf } from './test/harness';

describe('transaction view', () => {
  it('on the leader: votes, reasons, attempts and acks per participant; the decision with its Raft position', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a', 'bank-b']);
    h.tick(300);
    h.vote('tx1', 'bank-a', 'YES');
    h.vote('tx1', 'bank-b', 'NO', 'insufficient funds');
    h.commit();
    h.tick(10);
    h.ack('tx1', 'bank-a', 'ABORT');
    const found = viewTransaction(h.state, txIdOf('tx1'), h.nowMs);
    if (found === null) throw new Error('tx1 is not live');
    const { timeline, ...view } = found;
    // Event by event in timeline.spec.ts; here: the leader's view runs up to the latest ACK.
    expect(describeTimeline(timeline).at(-1)).toBe('+310 ACK bank-a: acknowledged ABORT');
    expect(view).toEqual({
      txId: txIdOf('tx1'),
      state: 'ABORTED',
      decision: {
        outcome: 'ABORT',
        cause: 'VOTED_NO',
        reason: 'bank-b voted NO: insufficient funds',
        resolvedBy: null,
        decidedAtMs: T0 + 300,
        raftIndex: 3,
        raftTerm: 1,
      },
      participants: [
        {
          name: 'bank-a',
          vote: 'YES',
          voteReason: null,
          votedAtMs: T0 + 300,
          needsDecision: true,
          ack: true,
          ackedAtMs: T0 + 310,
          attempts: 1,
          lastError: null,
          unavailable: false,
        },
        {
          name: 'bank-b',
          vote: 'NO',
          voteReason: 'insufficient funds',
          votedAtMs: T0 + 300,
          needsDecision: false,
          ack: false,
          ackedAtMs: null,
          attempts: 0,
          lastError: null,
          unavailable: false,
        },
      ],
      createdAtMs: T0,
      deadlineMs: T0 + 5000,
      metadata: { order: 'tx1' },
      idempotencyKey: null,
      finishedAtMs: T0 + 310,
      stuck: null,
      progressKnown: true,
    });
  });

  it('stuck in COMMITTING: says whose ACK is missing, for how long, after how many attempts', () => {
    const h = new Harness();
    h.lead();
    h.committing('tx1', ['bank-a', 'bank-b']);
    h.ack('tx1', 'bank-a', 'COMMIT');
    for (let elapsed = 0; elapsed < 130_000; elapsed += 100) h.tick(100);
    const view = viewTransaction(h.state, txIdOf('tx1'), h.nowMs);
    expect(view?.state).toBe('COMMITTING');
    expect(view?.stuck).toEqual({
      sinceMs: T0,
      reason: 'waiting for ACK from bank-b for 2m 10s, 11 attempts',
    });
  });

  it('stuck in PREPARING: names the participants whose vote is missing', () => {
    const h = new Harness();
    h.lead();
    h.preparingLogged('tx1', ['bank-a', 'bank-b']);
    h.vote('tx1', 'bank-a', 'YES');
    const view = viewTransaction(h.state, txIdOf('tx1'), T0 + 65_000);
    // Since commit was requested (PREPARING's time), not since PREPARING reached the log.
    expect(view?.stuck).toEqual({
      sinceMs: T0,
      reason: 'waiting for vote from bank-b for 1m 5s, 2 attempts',
    });
    expect(viewTransaction(h.state, txIdOf('tx1'), T0 + 60_000)?.stuck).toBeNull();
  });

  it('on a follower: the replicated record only, and stuck says progress is known to the leader', () => {
    const h = new Harness();
    h.lead();
    h.committing('tx1', ['bank-a']);
    const follower = decodeSnapshot(encodeSnapshot(h.state));
    const view = viewTransaction(follower, txIdOf('tx1'), T0 + 120_000);
    expect(view?.progressKnown).toBe(false);
    expect(view?.participants[0]).toMatchObject({
      vote: null,
      ack: false,
      attempts: 0,
      needsDecision: true,
      unavailable: null,
    });
    expect(view?.stuck?.reason).toBe('COMMITTING for 2m 0s; acknowledgements are known only to the leader');
  });

  it('an unknown txId has no view (the API then looks in history)', () => {
    expect(viewTransaction(new Harness().state, txIdOf('tx1'), T0)).toBeNull();
  });
});

describe('transaction list', () => {
  function fiveTransactions(): Harness {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a']);
    h.preparing('tx2', ['bank-a', 'bank-b']);
    h.committing('tx3', ['bank-b']);
    h.tick(90_000);
    h.started('tx4', ['bank-c']);
    h.started('tx5', ['bank-a']);
    return h;
  }

  it('newest first, paged by cursor until nextCursor is null', () => {
    const h = fiveTransactions();
    const first = listTransactions(h.state, { limit: 2 }, h.nowMs);
    expect(first.items.map((item) => item.txId)).toEqual([txIdOf('tx5'), txIdOf('tx4')]);
    expect(first.nextCursor).toBe(txIdOf('tx4'));
    const second = listTransactions(h.state, { limit: 2, cursor: first.nextCursor ?? '' }, h.nowMs);
    expect(second.items.map((item) => item.txId)).toEqual([txIdOf('tx3'), txIdOf('tx2')]);
    const third = listTransactions(h.state, { limit: 2, cursor: second.nextCursor ?? '' }, h.nowMs);
    expect(third.items.map((item) => item.txId)).toEqual([txIdOf('tx1')]);
    expect(third.nextCursor).toBeNull();
  });

  it('oldest first on request', () => {
    const h = fiveTransactions();
    const page = listTransactions(h.state, { order: 'oldestFirst', limit: 3 }, h.nowMs);
    expect(page.items.map((item) => item.txId)).toEqual([txIdOf('tx1'), txIdOf('tx2'), txIdOf('tx3')]);
  });

  it.each([
    ['state', { state: 'COMMITTING' as const }, ['tx3']],
    ['participant', { participant: 'bank-a' }, ['tx5', 'tx2', 'tx1']],
    ['olderThan', { olderThanMs: 60_000 }, ['tx3', 'tx2', 'tx1']],
    ['stuck', { stuck: true }, ['tx3']],
    ['not stuck', { stuck: false }, ['tx5', 'tx4', 'tx2', 'tx1']],
  ])('filters by %s', (_filter, filter, expected) => {
    const h = fiveTransactions();
    const page = listTransactions(h.state, filter, h.nowMs);
    expect(page.items.map((item) => item.txId)).toEqual(expected.map(txIdOf));
  });

  it('a limit outside 1..500 is a programmer error in the API layer', () => {
    expect(() => listTransactions(new Harness().state, { limit: 501 }, T0)).toThrow(
      'list limit 501 outside [1, 500]',
    );
  });
});

describe('formatDuration', () => {
  it.each([
    [850, '850ms'],
    [45_000, '45s'],
    [130_000, '2m 10s'],
    [3 * 3_600_000 + 5 * 60_000, '3h 5m'],
    [52 * 3_600_000, '2d 4h'],
  ])('%i ms reads %s', (durationMs, expected) => {
    expect(formatDuration(durationMs)).toBe(expected);
  });
});

itAuditedEveryEffectList(it, expect, { effectLists: 50, phaseTwoSends: 5 });
