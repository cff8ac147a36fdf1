import { describe, expect, it } from 'vitest';
import { InvariantViolation } from './assert';
import { decodeSnapshot, encodeSnapshot } from './snapshot';
import { viewTransaction } from './queries';
import { TIMELINE_EVENTS_KEPT_FIRST, TIMELINE_LEADER_EVENTS_PER_TX_MAX, RETRY_DELAY_MS_MAX } from './limits';
import type { Effect } from './effects';
import { describeTimeline, Harness, T0, txIdOf } from './test/harness';

// The timeline of one transaction: replicated events with their Raft position on every node,
// leader events (sends, votes, acks, retries) on the leader only, bounded, oldest first.
// Lines: `+ms KIND participant: detail [index/term] by actor` (test/harness.ts).

function archivedTimeline(effects: readonly Effect[]): string[] {
  const archive = effects.find((effect) => effect.kind === 'archive');
  if (archive?.kind !== 'archive') throw new Error('no archive effect');
  return describeTimeline(archive.record.timeline);
}

describe('timeline', () => {
  it('a committed transaction: begin, enlistments, prepare, votes, decision with its Raft position, sends, acks, archive', () => {
    const h = new Harness();
    h.lead();
    h.begin('tx1', ['bank-a', 'bank-b']);
    h.commit();
    h.tick(10);
    h.enlist('tx1', 'audit-log');
    h.commit();
    h.tick(10);
    h.commitRequested('tx1');
    h.commit();
    h.tick(5);
    h.vote('tx1', 'bank-a', 'YES');
    h.vote('tx1', 'audit-log', 'READ_ONLY');
    h.tick(5);
    h.vote('tx1', 'bank-b', 'YES');
    h.commit();
    h.tick(5);
    h.ack('tx1', 'bank-a', 'COMMIT');
    const expected = [
      '+0 BEGIN -: began with 2 participants named [1/1]',
      '+0 ENLIST bank-a: enlisted at begin [1/1]',
      '+0 ENLIST bank-b: enlisted at begin [1/1]',
      '+10 ENLIST audit-log: enlisted [2/1]',
      // PREPARING waited for the votes and entered the log with the DECISION; on the leader it
      // shows where commit was requested, before the PREPAREs it sent.
      '+20 PREPARING -: commit requested: asking 3 participants to prepare [3/1]',
      '+20 PREPARE_SENT bank-a: PREPARE sent, attempt 1',
      '+20 PREPARE_SENT bank-b: PREPARE sent, attempt 1',
      '+20 PREPARE_SENT audit-log: PREPARE sent, attempt 1',
      '+25 VOTE bank-a: voted YES',
      '+25 VOTE audit-log: voted READ_ONLY',
      '+30 VOTE bank-b: voted YES',
      // Same millisecond as the last vote, but after it: ordered by Raft index, not by clock.
      '+30 DECISION -: decided COMMIT: all participants voted YES or READ_ONLY [4/1]',
      '+30 DECISION_SENT bank-a: COMMIT sent, attempt 1',
      '+30 DECISION_SENT bank-b: COMMIT sent, attempt 1',
      '+35 ACK bank-a: acknowledged COMMIT',
    ];
    expect(h.timeline('tx1')).toEqual(expected);

    // The archive record carries the timeline up to the last ACK; history appends ARCHIVED.
    const finishing = h.step({
      kind: 'ack',
      txId: txIdOf('tx1'),
      participant: 'bank-b',
      outcome: 'COMMIT',
      term: 1,
    });
    const finished = [...expected, '+35 ACK bank-b: acknowledged COMMIT'];
    expect(archivedTimeline(finishing)).toEqual(finished);
    h.trace({ kind: 'archived', txId: txIdOf('tx1') });
    expect(h.timeline('tx1')).toEqual([...finished, '+35 ARCHIVED -: archived to history']);
  });

  it('a NO vote with its reason, and the decision that names it', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a', 'bank-b']);
    h.vote('tx1', 'bank-b', 'NO', 'insufficient funds');
    h.commit();
    expect(h.timeline('tx1').slice(3)).toEqual([
      '+0 PREPARING -: commit requested: asking 2 participants to prepare [2/1]',
      '+0 PREPARE_SENT bank-a: PREPARE sent, attempt 1',
      '+0 PREPARE_SENT bank-b: PREPARE sent, attempt 1',
      '+0 VOTE bank-b: voted NO: insufficient funds',
      '+0 DECISION -: decided ABORT: bank-b voted NO: insufficient funds [3/1]',
      '+0 DECISION_SENT bank-a: ABORT sent, attempt 1',
    ]);
  });

  it('an operator retry and resolution carry the operator as actor', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a', 'bank-b']);
    h.tick(50);
    h.trace({ kind: 'retryPhaseTwo', requestId: 'op1', txId: txIdOf('tx1'), requestedBy: 'operator:grace' });
    h.tick(50);
    h.resolve('tx1', 'ABORT', 'bank-b is being rebuilt', 'operator:ada');
    h.commit();
    expect(h.timeline('tx1').slice(6)).toEqual([
      '+50 RETRY -: retry requested: PREPARE re-sent to every participant that has not voted by operator:grace',
      '+50 PREPARE_SENT bank-a: PREPARE sent, attempt 2',
      '+50 PREPARE_SENT bank-b: PREPARE sent, attempt 2',
      '+100 DECISION -: resolved ABORT by an operator: bank-b is being rebuilt [3/1] by operator:ada',
      '+100 DECISION_SENT bank-a: ABORT sent, attempt 1',
      '+100 DECISION_SENT bank-b: ABORT sent, attempt 1',
    ]);
  });

  it("an operator's retry reason is appended to the RETRY event, in both phases", () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a']);
    h.trace({
      kind: 'retryPhaseTwo',
      requestId: 'op1',
      txId: txIdOf('tx1'),
      requestedBy: 'operator:grace',
      reason: 'bank-a restarted',
    });
    h.committing('tx2', ['bank-b']);
    h.trace({
      kind: 'retryPhaseTwo',
      requestId: 'op2',
      txId: txIdOf('tx2'),
      requestedBy: 'operator:ada',
      reason: 'bank-b is back',
    });
    expect(h.timeline('tx1').filter((line) => line.includes('RETRY'))).toEqual([
      '+0 RETRY -: retry requested: PREPARE re-sent to every participant that has not voted; reason: bank-a restarted by operator:grace',
    ]);
    expect(h.timeline('tx2').filter((line) => line.includes('RETRY'))).toEqual([
      '+0 RETRY -: retry requested: COMMIT re-sent to every participant that has not acknowledged; reason: bank-b is back by operator:ada',
    ]);
  });

  it('a participant that never acknowledges for hours: re-sends fold into one event, the timeline stops growing', () => {
    const h = new Harness();
    h.lead();
    h.committing('tx1', ['bank-a', 'bank-b']);
    h.ack('tx1', 'bank-a', 'COMMIT');
    const sizes: number[] = [];
    for (let hour = 0; hour < 3; hour += 1) {
      for (let elapsedMs = 0; elapsedMs < 3_600_000; elapsedMs += RETRY_DELAY_MS_MAX)
        h.tick(RETRY_DELAY_MS_MAX);
      sizes.push(h.timeline('tx1').length);
    }
    expect(sizes[0]).toBe(sizes[2]);
    const sends = h.timeline('tx1').filter((line) => line.includes('DECISION_SENT bank-b'));
    expect(sends).toHaveLength(TIMELINE_EVENTS_KEPT_FIRST + 1);
    expect(sends.slice(0, TIMELINE_EVENTS_KEPT_FIRST)).toEqual([
      '+0 DECISION_SENT bank-b: COMMIT sent, attempt 1',
      '+30000 DECISION_SENT bank-b: COMMIT sent, attempt 2',
      '+60000 DECISION_SENT bank-b: COMMIT sent, attempt 3',
    ]);
    // The folded event is the latest send, at the latest time, saying how many it stands for.
    const attempts = viewTransaction(h.state, txIdOf('tx1'), h.nowMs)?.participants[1]?.attempts ?? 0;
    expect(sends.at(-1)).toBe(
      `+${h.nowMs - T0} DECISION_SENT bank-b: COMMIT sent, attempt ${attempts} ` +
        `(the latest of ${attempts - TIMELINE_EVENTS_KEPT_FIRST}, shown as one event)`,
    );
    expect(h.timeline('tx1').at(-1)).toBe(sends.at(-1));
  });

  it('folding bounds every kind: retries by operators, contradicting votes', () => {
    const h = new Harness();
    h.lead();
    h.preparingLogged('tx1', ['bank-a', 'bank-b']);
    h.vote('tx1', 'bank-a', 'YES');
    for (let retry = 0; retry < 50; retry += 1) {
      const operator = retry === 49 ? 'operator:grace' : 'operator:ada';
      h.tick(1);
      h.trace({
        kind: 'retryPhaseTwo',
        requestId: `op${retry}`,
        txId: txIdOf('tx1'),
        requestedBy: operator,
      });
      // Contradicts its YES every time; a NO would abort, and a repeated YES is no event.
      h.vote('tx1', 'bank-a', 'READ_ONLY');
    }
    const lines = h.timeline('tx1');
    const retries = lines.filter((line) => line.includes(' RETRY '));
    expect(retries).toHaveLength(TIMELINE_EVENTS_KEPT_FIRST + 1);
    // The folded retry shows the latest operator.
    expect(retries.at(-1)).toMatch(/\(the latest of 47, shown as one event\) by operator:grace$/);
    expect(lines.filter((line) => line.includes(' VOTE bank-a'))).toHaveLength(
      TIMELINE_EVENTS_KEPT_FIRST + 1,
    );
    expect(lines.filter((line) => line.includes('PREPARE_SENT bank-b'))).toHaveLength(
      TIMELINE_EVENTS_KEPT_FIRST + 1,
    );
    expect(lines.filter((line) => line.includes('PREPARE_SENT bank-b')).at(-1)).toMatch(
      /^\+250 PREPARE_SENT bank-b: PREPARE sent, attempt 52 \(the latest of 49, shown as one event\)$/,
    );
    expect(lines.length).toBeLessThanOrEqual(TIMELINE_LEADER_EVENTS_PER_TX_MAX);
  });

  it('a follower shows only the replicated events: they carry their Raft position', () => {
    const h = new Harness();
    h.lead();
    h.committing('tx1', ['bank-a']);
    const follower = decodeSnapshot(encodeSnapshot(h.state));
    const view = viewTransaction(follower, txIdOf('tx1'), h.nowMs);
    expect(describeTimeline(view?.timeline ?? [])).toEqual([
      '+0 BEGIN -: began with 1 participant named [1/1]',
      '+0 ENLIST bank-a: enlisted at begin [1/1]',
      '+0 PREPARING -: commit requested: asking 1 participant to prepare [2/1]',
      '+0 DECISION -: decided COMMIT: all participants voted YES [3/1]',
    ]);
  });

  it('leader dies after DECISION committed: the successor keeps the replicated events and adds RESUMED', () => {
    const h = new Harness();
    h.lead();
    h.committing('tx1', ['bank-a', 'bank-b']);
    h.ack('tx1', 'bank-a', 'COMMIT');
    h.tick(100);
    h.failover({ viaSnapshot: true });
    expect(h.timeline('tx1')).toEqual([
      '+0 BEGIN -: began with 2 participants named [1/1]',
      '+0 ENLIST bank-a: enlisted at begin [1/1]',
      '+0 ENLIST bank-b: enlisted at begin [1/1]',
      '+0 PREPARING -: commit requested: asking 2 participants to prepare [2/1]',
      '+0 DECISION -: decided COMMIT: all participants voted YES [3/1]',
      // The old leader's sends, votes and bank-a's ACK are gone with it.
      '+100 RESUMED -: a new leader (term 2) took over: re-sending COMMIT to every participant ' +
        'that may be prepared; what earlier leaders sent and heard is not kept',
      '+100 DECISION_SENT bank-a: COMMIT sent, attempt 1',
      '+100 DECISION_SENT bank-b: COMMIT sent, attempt 1',
    ]);
  });
});

describe('timeline in snapshots', () => {
  it('v2 snapshots carry where BEGIN and each ENLIST sit in the log', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a']);
    h.tick(10);
    h.enlist('tx1', 'bank-b');
    h.commit();
    const restored = decodeSnapshot(encodeSnapshot(h.state));
    expect(restored.replicated.transactions.get(txIdOf('tx1'))).toMatchObject({
      begun: { index: 1, term: 1 },
      enlistments: [
        { index: 1, term: 1, atMs: T0 },
        { index: 2, term: 1, atMs: T0 + 10 },
      ],
    });
  });

  it('a v1 snapshot (written before timelines) still decodes; the positions it lacks read null', () => {
    const h = new Harness();
    h.lead();
    h.committing('tx1', ['bank-a']);
    const v2 = JSON.parse(new TextDecoder().decode(encodeSnapshot(h.state))) as {
      v: number;
      transactions: Record<string, unknown>[];
    };
    const v1 = {
      ...v2,
      v: 1,
      transactions: v2.transactions.map(({ begun: _begun, enlistments: _enlistments, ...rest }) => rest),
    };
    const restored = decodeSnapshot(new TextEncoder().encode(JSON.stringify(v1)));
    const view = viewTransaction(restored, txIdOf('tx1'), h.nowMs);
    expect(describeTimeline(view?.timeline ?? [])).toEqual([
      '+0 BEGIN -: began with 0 participants named',
      '+0 ENLIST bank-a: enlisted (when was not recorded)',
      '+0 PREPARING -: commit requested: asking 1 participant to prepare [2/1]',
      '+0 DECISION -: decided COMMIT: all participants voted YES [3/1]',
    ]);
  });

  it('a v2 snapshot whose enlistments do not match its participants is refused', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a', 'bank-b']);
    const body = JSON.parse(new TextDecoder().decode(encodeSnapshot(h.state))) as {
      transactions: { enlistments: unknown[] }[];
    };
    body.transactions[0]?.enlistments.pop();
    const bytes = new TextEncoder().encode(JSON.stringify(body));
    expect(() => decodeSnapshot(bytes)).toThrow(InvariantViolation);
    expect(() => decodeSnapshot(bytes)).toThrow('has 1 enlistments for 2 participants');
  });
});
