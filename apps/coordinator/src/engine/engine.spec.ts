import { describe, expect, it } from 'vitest';
import { InvariantViolation } from './assert';
import type { Effect, FinishedTransactionRecord } from './effects';
import { transition } from './engine';
import {
  IDEMPOTENCY_KEY_TTL_MS,
  PARTICIPANTS_PER_TX_MAX,
  REASON_CHARS_MAX,
  RETRY_DELAY_MS_MAX,
  retryDelayMs,
} from './limits';
import { viewTransaction } from './queries';
import { createEngineState } from './state';
import { itAuditedEveryEffectList } from './test/audit';
import { describeTimeline, Harness, T0, txIdOf } from './test/harness';

// Tables: commands in, effects out, one scenario per test. Traces show one effect per line with
// txIds by alias (tx1, tx2, …); see test/harness.ts for the format.

function errorOf(h: Harness, requestId: string): { code: string; message: string } {
  const reply = h.replies.get(requestId);
  if (reply === undefined || reply.ok)
    throw new Error(`request ${requestId} did not fail: ${JSON.stringify(reply)}`);
  return reply.error;
}

function archiveOf(effects: readonly Effect[]): FinishedTransactionRecord {
  const archive = effects.find((effect) => effect.kind === 'archive');
  if (archive?.kind !== 'archive') throw new Error('no archive effect');
  return archive.record;
}

describe('happy paths', () => {
  it('two participants vote YES: DECISION COMMIT is committed before any COMMIT is sent', () => {
    const h = new Harness();
    expect(h.lead()).toEqual([]);
    expect(h.begin('tx1', ['bank-a', 'bank-b'])).toEqual(['propose BEGIN tx1 bank-a,bank-b']);
    expect(h.commit()).toEqual(['reply r1 begun tx1']);
    // PREPARE leaves at once; PREPARING waits for the votes (presumed abort covers PREPARE with
    // nothing in the log).
    expect(h.commitRequested('tx1')).toEqual([
      'send bank-a PREPARE tx1 term=1 attempt=1',
      'send bank-b PREPARE tx1 term=1 attempt=1',
    ]);
    expect(h.commit()).toEqual([]);
    expect(h.vote('tx1', 'bank-a', 'YES')).toEqual([]);
    // The last YES proposes PREPARING and the decision in one turn (one Raft entry); nobody hears
    // COMMIT yet.
    expect(h.vote('tx1', 'bank-b', 'YES')).toEqual([
      'propose PREPARING tx1',
      'propose DECISION tx1 COMMIT VOTES: all participants voted YES',
    ]);
    // COMMIT POINT: the entry is committed; the request is answered and phase two starts.
    expect(h.commit()).toEqual([
      'reply r2 decided tx1 COMMIT at 3/1',
      'send bank-a COMMIT tx1 term=1 attempt=1',
      'send bank-b COMMIT tx1 term=1 attempt=1',
    ]);
    expect(h.ack('tx1', 'bank-a', 'COMMIT')).toEqual([]);
    expect(h.ack('tx1', 'bank-b', 'COMMIT')).toEqual(['archive tx1 COMMITTED']);
    expect(h.trace({ kind: 'archived', txId: txIdOf('tx1') })).toEqual([]);
    expect(h.tick(10)).toEqual(['propose END tx1']);
    expect(h.commit()).toEqual([]);
    expect(h.state.replicated.transactions.size).toBe(0);
  });

  it('wait=completion: the commit request is answered once every participant acknowledged', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a', 'bank-b'], 'completion');
    h.vote('tx1', 'bank-a', 'YES');
    h.vote('tx1', 'bank-b', 'YES');
    expect(h.commit()).toEqual([
      'send bank-a COMMIT tx1 term=1 attempt=1',
      'send bank-b COMMIT tx1 term=1 attempt=1',
    ]);
    expect(h.ack('tx1', 'bank-b', 'COMMIT')).toEqual([]);
    expect(h.ack('tx1', 'bank-a', 'COMMIT')).toEqual([
      'reply r2 completed tx1 COMMIT',
      'archive tx1 COMMITTED',
    ]);
  });

  it('a NO vote aborts at once; the NO voter gets no ABORT, the others do', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a', 'bank-b', 'bank-c']);
    h.vote('tx1', 'bank-a', 'YES');
    expect(h.vote('tx1', 'bank-b', 'NO', 'insufficient funds in alice')).toEqual([
      'propose PREPARING tx1',
      'propose DECISION tx1 ABORT VOTED_NO: bank-b voted NO: insufficient funds in alice',
    ]);
    // bank-c has not voted: it may be prepared, so it hears ABORT; bank-b rolled back on its own.
    expect(h.commit()).toEqual([
      'reply r2 decided tx1 ABORT at 3/1',
      'send bank-a ABORT tx1 term=1 attempt=1',
      'send bank-c ABORT tx1 term=1 attempt=1',
    ]);
    h.ack('tx1', 'bank-a', 'ABORT');
    expect(h.ack('tx1', 'bank-c', 'ABORT')).toEqual(['archive tx1 ABORTED']);
  });

  it('READ_ONLY voters get no phase-two message', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a', 'audit-log']);
    h.vote('tx1', 'audit-log', 'READ_ONLY');
    expect(h.vote('tx1', 'bank-a', 'YES')).toEqual([
      'propose PREPARING tx1',
      'propose DECISION tx1 COMMIT VOTES: all participants voted YES or READ_ONLY',
    ]);
    expect(h.commit()).toEqual([
      'reply r2 decided tx1 COMMIT at 3/1',
      'send bank-a COMMIT tx1 term=1 attempt=1',
    ]);
    expect(h.ack('tx1', 'bank-a', 'COMMIT')).toEqual(['archive tx1 COMMITTED']);
  });

  it('every participant votes READ_ONLY: finished at the decision, no phase two at all', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['report-a', 'report-b']);
    h.vote('tx1', 'report-a', 'READ_ONLY');
    expect(h.vote('tx1', 'report-b', 'READ_ONLY')).toEqual([
      'propose PREPARING tx1',
      'propose DECISION tx1 COMMIT VOTES: all participants voted READ_ONLY',
    ]);
    expect(h.commit()).toEqual(['reply r2 decided tx1 COMMIT at 3/1', 'archive tx1 COMMITTED']);
  });

  it('a single participant still goes through PREPARE, vote, DECISION, COMMIT (no one-phase shortcut)', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a']);
    expect(h.commitRequested('tx1')).toEqual(['send bank-a PREPARE tx1 term=1 attempt=1']);
    expect(h.commit()).toEqual([]);
    expect(h.vote('tx1', 'bank-a', 'YES')).toEqual([
      'propose PREPARING tx1',
      'propose DECISION tx1 COMMIT VOTES: all participants voted YES',
    ]);
    expect(h.commit()).toEqual([
      'reply r2 decided tx1 COMMIT at 3/1',
      'send bank-a COMMIT tx1 term=1 attempt=1',
    ]);
    const sent = h.step({ kind: 'tick', nowMs: h.nowMs });
    expect(sent).toEqual([]);
  });

  it('the PREPARE message carries the work, the deadline, every participant, term and attempt', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a', 'bank-b']);
    const effects = h.step({
      kind: 'commitRequested',
      requestId: 'r2',
      txId: txIdOf('tx1'),
      wait: 'decision',
    });
    expect(effects[0]).toEqual({
      kind: 'send',
      participant: 'bank-a',
      message: {
        v: 1,
        type: 'PREPARE',
        txId: txIdOf('tx1'),
        participant: 'bank-a',
        term: 1,
        attempt: 1,
        sentAt: '2026-11-25T10:00:00.000Z',
        payload: {
          work: { step: 'bank-a' },
          deadline: '2026-11-25T10:00:05.000Z',
          participants: ['bank-a', 'bank-b'],
        },
      },
    });
  });

  it('END is batched: transactions archived between ticks end in one entry', () => {
    const h = new Harness();
    h.lead();
    for (const alias of ['tx1', 'tx2', 'tx3']) {
      h.committing(alias, ['bank-a']);
      h.ack(alias, 'bank-a', 'COMMIT');
      expect(h.trace({ kind: 'archived', txId: txIdOf(alias) })).toEqual([]);
    }
    expect(h.trace({ kind: 'archived', txId: txIdOf('tx2') })).toEqual([]);
    expect(h.tick(5)).toEqual(['propose END tx1,tx2,tx3']);
    expect(h.tick(5)).toEqual([]);
    h.commit();
    expect(h.state.replicated.transactions.size).toBe(0);
  });

  it('the archive record has each participant’s vote, reason, ack time and attempts', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a', 'bank-b', 'audit-log']);
    // No vote by the first re-send: PREPARING goes into the log.
    h.tick(200);
    h.commit();
    h.vote('tx1', 'bank-a', 'YES');
    h.tick(100);
    h.vote('tx1', 'audit-log', 'READ_ONLY');
    h.vote('tx1', 'bank-b', 'YES');
    h.commit();
    h.tick(50);
    h.ack('tx1', 'bank-a', 'COMMIT');
    h.tick(1000);
    const { timeline, ...record } = archiveOf(
      h.step({ kind: 'ack', txId: txIdOf('tx1'), participant: 'bank-b', outcome: 'COMMIT', term: 1 }),
    );
    // Event by event in timeline.spec.ts; here: it runs up to the acknowledgement that finished it.
    expect(describeTimeline(timeline).at(-1)).toBe('+1350 ACK bank-b: acknowledged COMMIT');
    expect(record).toEqual({
      txId: txIdOf('tx1'),
      state: 'COMMITTED',
      decision: {
        outcome: 'COMMIT',
        cause: 'VOTES',
        reason: 'all participants voted YES or READ_ONLY',
        resolvedBy: null,
        decidedAtMs: T0 + 300,
        raftIndex: 3,
        raftTerm: 1,
      },
      participants: [
        // At +200 ms nobody had voted: PREPARE went to all three again. At +500 ms bank-b had not
        // acknowledged: COMMIT went to it again. Attempts count both phases.
        {
          name: 'bank-a',
          vote: 'YES',
          voteReason: null,
          votedAtMs: T0 + 200,
          ackedAtMs: T0 + 350,
          attempts: 3,
          lastError: null,
        },
        {
          name: 'bank-b',
          vote: 'YES',
          voteReason: null,
          votedAtMs: T0 + 300,
          ackedAtMs: T0 + 1350,
          attempts: 4,
          lastError: null,
        },
        {
          name: 'audit-log',
          vote: 'READ_ONLY',
          voteReason: null,
          votedAtMs: T0 + 300,
          ackedAtMs: null,
          attempts: 2,
          lastError: null,
        },
      ],
      createdAtMs: T0,
      deadlineMs: T0 + 5000,
      finishedAtMs: T0 + 1350,
      metadata: { order: 'tx1' },
      idempotencyKey: null,
    });
  });
});

describe('begin with commit', () => {
  it('PREPARE leaves at once; BEGIN, PREPARING and DECISION enter the log together once the votes are in', () => {
    const h = new Harness();
    h.lead();
    // Presumed abort: nothing needs to be in the log before PREPARE.
    expect(h.begin('tx1', ['bank-a', 'bank-b'], { commit: 'decision' })).toEqual([
      'send bank-a PREPARE tx1 term=1 attempt=1',
      'send bank-b PREPARE tx1 term=1 attempt=1',
    ]);
    expect(h.commit()).toEqual([]);
    expect(h.vote('tx1', 'bank-a', 'YES')).toEqual([]);
    expect(h.vote('tx1', 'bank-b', 'YES')).toEqual([
      'propose BEGIN tx1 bank-a,bank-b',
      'propose PREPARING tx1',
      'propose DECISION tx1 COMMIT VOTES: all participants voted YES',
    ]);
    // The request waits for the decision, which applies right behind BEGIN and PREPARING.
    expect(h.commit()).toEqual([
      'reply r1 decided tx1 COMMIT at 3/1',
      'send bank-a COMMIT tx1 term=1 attempt=1',
      'send bank-b COMMIT tx1 term=1 attempt=1',
    ]);
  });

  it('wait=completion answers once every participant acknowledged', () => {
    const h = new Harness();
    h.lead();
    h.begin('tx1', ['bank-a'], { commit: 'completion' });
    h.commit();
    h.vote('tx1', 'bank-a', 'YES');
    expect(h.commit()).toEqual(['send bank-a COMMIT tx1 term=1 attempt=1']);
    expect(h.ack('tx1', 'bank-a', 'COMMIT')).toEqual([
      'reply r1 completed tx1 COMMIT',
      'archive tx1 COMMITTED',
    ]);
  });

  it('with a participant’s breaker open: BEGIN alone, then ABORT at once, no PREPARE', () => {
    const h = new Harness();
    h.lead();
    h.trace({ kind: 'participantUnavailable', participant: 'bank-b', reason: 'circuit breaker open' });
    expect(h.begin('tx1', ['bank-a', 'bank-b'], { commit: 'decision' })).toEqual([
      'propose BEGIN tx1 bank-a,bank-b',
    ]);
    expect(h.commit()).toEqual([
      'propose DECISION tx1 ABORT PARTICIPANT_UNAVAILABLE: participant bank-b is unavailable (circuit breaker open)',
    ]);
    expect(h.commit()).toEqual(['reply r1 decided tx1 ABORT at 2/1', 'archive tx1 ABORTED']);
  });

  it('a retry with the same key: joins while in flight, else answers begun so that the host commits', () => {
    const h = new Harness();
    const idempotency = { key: 'order-7', fingerprint: 'sha256:aaaa' };
    h.lead();
    h.begin('tx1', ['bank-a'], { commit: 'decision', idempotency });
    // In flight: the retry (another txId from the host) waits for the same decision.
    expect(h.begin('tx2', ['bank-a'], { commit: 'decision', idempotency })).toEqual([]);
    h.commit();
    h.vote('tx1', 'bank-a', 'YES');
    expect(h.commit()).toEqual([
      'reply r1 decided tx1 COMMIT at 3/1',
      'reply r2 decided tx1 COMMIT at 3/1',
      'send bank-a COMMIT tx1 term=1 attempt=1',
    ]);
    expect(h.begin('tx3', ['bank-a'], { commit: 'decision', idempotency })).toEqual([
      'reply r3 begun tx1 (replayed)',
    ]);
  });

  it('without participants: refused, nothing proposed', () => {
    const h = new Harness();
    h.lead();
    expect(h.begin('tx1', [], { commit: 'decision' })).toEqual(['reply r1 VALIDATION_FAILED']);
    expect(errorOf(h, 'r1').message).toMatch(/commit at begin needs the participants/);
  });

  it('votes slower than the first re-send: BEGIN and PREPARING go into the log then, PREPARE is re-sent', () => {
    const h = new Harness();
    h.lead();
    h.begin('tx1', ['bank-a', 'bank-b'], { commit: 'decision' });
    expect(h.vote('tx1', 'bank-a', 'YES')).toEqual([]);
    expect(h.tick(199)).toEqual([]);
    expect(h.tick(1)).toEqual([
      'propose BEGIN tx1 bank-a,bank-b',
      'propose PREPARING tx1',
      'send bank-b PREPARE tx1 term=1 attempt=2',
    ]);
    // Live now: the vote that came while held counts at PREPARING's apply, the backoff goes on.
    expect(h.commit()).toEqual([]);
    expect(h.tick(399)).toEqual([]);
    expect(h.tick(1)).toEqual(['send bank-b PREPARE tx1 term=1 attempt=3']);
    expect(h.vote('tx1', 'bank-b', 'YES')).toEqual([
      'propose DECISION tx1 COMMIT VOTES: all participants voted YES',
    ]);
    expect(h.commit()).toEqual([
      'reply r1 decided tx1 COMMIT at 3/1',
      'send bank-a COMMIT tx1 term=1 attempt=1',
      'send bank-b COMMIT tx1 term=1 attempt=1',
    ]);
  });

  it('a deadline before the first re-send: BEGIN and PREPARING go into the log then, and ABORT follows', () => {
    const h = new Harness();
    h.lead();
    h.begin('tx1', ['bank-a'], { commit: 'decision', timeoutMs: 100 });
    expect(h.tick(100)).toEqual(['propose BEGIN tx1 bank-a', 'propose PREPARING tx1']);
    expect(h.commit()).toEqual([
      'propose DECISION tx1 ABORT DEADLINE: prepare deadline 2026-11-25T10:00:00.100Z passed with no vote from bank-a',
    ]);
  });

  it('held, the transaction is not live: requests naming it wait for begin, a participant asking hears UNDECIDED', () => {
    const h = new Harness();
    h.lead();
    h.begin('tx1', ['bank-a', 'bank-b'], { commit: 'decision' });
    expect(h.abortRequested('tx1')).toEqual(['reply r2 TX_NOT_FOUND']);
    expect(errorOf(h, 'r2').message).toMatch(/still being begun/);
    expect(h.enlist('tx1', 'bank-c')).toEqual(['reply r3 TX_NOT_FOUND']);
    expect(
      h.trace({ kind: 'outcomeQuery', txId: txIdOf('tx1'), participant: 'bank-a', requestId: null }),
    ).toEqual([]);
    expect(
      h.trace({ kind: 'outcomeQuery', txId: txIdOf('tx1'), participant: null, requestId: 'q1' }),
    ).toEqual(['reply q1 outcome tx1 UNDECIDED']);
  });

  it('the leader dies with BEGIN and PREPARING in its log: the successor prepares the transaction', () => {
    const h = new Harness();
    h.lead();
    h.begin('tx1', ['bank-a'], { commit: 'decision' });
    h.tick(200);
    const { old, successor } = h.failover({ survivors: 2 });
    expect(old).toEqual(['reply r1 LEADERSHIP_LOST']);
    expect(successor).toContain('send bank-a PREPARE tx1 term=2 attempt=1');
  });
});

describe('PREPARE with the PREPARING proposal', () => {
  it('votes that come before PREPARING is applied wait for it; its apply proposes COMMIT, no PREPARE again', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a', 'bank-b']);
    // Inherited: its ENLISTs of an earlier leader are not tracked, so PREPARING is proposed at once.
    h.failover();
    expect(h.commitRequested('tx1')).toEqual([
      'propose PREPARING tx1',
      'send bank-a PREPARE tx1 term=2 attempt=1',
      'send bank-b PREPARE tx1 term=2 attempt=1',
    ]);
    expect(h.vote('tx1', 'bank-a', 'YES')).toEqual([]);
    expect(h.vote('tx1', 'bank-b', 'YES')).toEqual([]);
    expect(h.commit()).toEqual(['propose DECISION tx1 COMMIT VOTES: all participants voted YES']);
    expect(h.commit()).toEqual([
      'reply r2 decided tx1 COMMIT at 3/2',
      'send bank-a COMMIT tx1 term=2 attempt=1',
      'send bank-b COMMIT tx1 term=2 attempt=1',
    ]);
  });

  it('a live transaction: PREPARE leaves at once, PREPARING waits for the votes and enters the log with the DECISION', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a', 'bank-b']);
    expect(h.commitRequested('tx1')).toEqual([
      'send bank-a PREPARE tx1 term=1 attempt=1',
      'send bank-b PREPARE tx1 term=1 attempt=1',
    ]);
    // Held, the transaction shows PREPARING: commit was requested and PREPARE went out.
    expect(viewTransaction(h.state, txIdOf('tx1'), h.nowMs)?.state).toBe('PREPARING');
    expect(h.vote('tx1', 'bank-a', 'YES')).toEqual([]);
    expect(h.vote('tx1', 'bank-b', 'YES')).toEqual([
      'propose PREPARING tx1',
      'propose DECISION tx1 COMMIT VOTES: all participants voted YES',
    ]);
    expect(h.commit()).toEqual([
      'reply r2 decided tx1 COMMIT at 3/1',
      'send bank-a COMMIT tx1 term=1 attempt=1',
      'send bank-b COMMIT tx1 term=1 attempt=1',
    ]);
  });

  it('a live transaction: votes slower than the first re-send put PREPARING into the log then', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a', 'bank-b']);
    h.commitRequested('tx1');
    expect(h.vote('tx1', 'bank-a', 'YES')).toEqual([]);
    expect(h.tick(199)).toEqual([]);
    expect(h.tick(1)).toEqual(['propose PREPARING tx1', 'send bank-b PREPARE tx1 term=1 attempt=2']);
    // From here as any PREPARING proposed: votes wait for its apply, the backoff goes on.
    expect(h.vote('tx1', 'bank-b', 'YES')).toEqual([]);
    expect(h.commit()).toEqual(['propose DECISION tx1 COMMIT VOTES: all participants voted YES']);
    expect(h.commit()).toEqual([
      'reply r2 decided tx1 COMMIT at 3/1',
      'send bank-a COMMIT tx1 term=1 attempt=1',
      'send bank-b COMMIT tx1 term=1 attempt=1',
    ]);
  });

  it('a live transaction: an ENLIST while PREPARING is held is refused at once, nothing proposed', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a']);
    h.commitRequested('tx1');
    expect(h.enlist('tx1', 'bank-b')).toEqual(['reply r3 TX_NOT_ACTIVE']);
    expect(errorOf(h, 'r3').message).toBe(
      `transaction ${txIdOf('tx1')} is PREPARING; participants can be enlisted only while ACTIVE`,
    );
    // The same participant and work again is still an idempotent yes.
    expect(h.enlist('tx1', 'bank-a')).toEqual(['reply r4 enlisted tx1 bank-a']);
    expect(h.vote('tx1', 'bank-a', 'YES')).toEqual([
      'propose PREPARING tx1',
      'propose DECISION tx1 COMMIT VOTES: all participants voted YES',
    ]);
  });

  it('a live transaction: the client aborts while PREPARING is held; PREPARING and ABORT enter the log, all prepared hear it', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a', 'bank-b']);
    h.commitRequested('tx1');
    h.vote('tx1', 'bank-a', 'YES');
    expect(h.abortRequested('tx1')).toEqual([
      'propose PREPARING tx1',
      'propose DECISION tx1 ABORT CLIENT_ABORT: abort requested by the client',
    ]);
    expect(h.commit()).toEqual([
      'reply r2 decided tx1 ABORT at 3/1',
      'reply r3 decided tx1 ABORT at 3/1',
      'send bank-a ABORT tx1 term=1 attempt=1',
      'send bank-b ABORT tx1 term=1 attempt=1',
    ]);
  });

  it('a live transaction: a breaker opening while PREPARING is held aborts at once, naming the participant', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a', 'bank-b']);
    h.commitRequested('tx1');
    h.vote('tx1', 'bank-a', 'YES');
    expect(
      h.trace({ kind: 'participantUnavailable', participant: 'bank-b', reason: 'circuit breaker open' }),
    ).toEqual([
      'propose PREPARING tx1',
      'propose DECISION tx1 ABORT PARTICIPANT_UNAVAILABLE: participant bank-b is unavailable (circuit breaker open)',
    ]);
  });

  it('a live transaction: a leader change while PREPARING is held loses it; the successor sees ACTIVE and asks everyone at abort', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a', 'bank-b']);
    h.commitRequested('tx1');
    h.vote('tx1', 'bank-a', 'YES');
    const { old } = h.failover();
    expect(old).toEqual(['reply r2 LEADERSHIP_LOST']);
    expect(viewTransaction(h.state, txIdOf('tx1'), h.nowMs)?.state).toBe('ACTIVE');
    // bank-a is prepared and waits; the deadline aborts, and ABORT goes to everyone that may be.
    h.tick(5000);
    expect(h.commit()).toEqual([
      'send bank-a ABORT tx1 term=2 attempt=1',
      'send bank-b ABORT tx1 term=2 attempt=1',
    ]);
  });

  it('begin with commit: votes that come after the hold, before the BEGIN is applied, count at its apply', () => {
    const h = new Harness();
    h.lead();
    h.begin('tx1', ['bank-a', 'bank-b'], { commit: 'decision' });
    h.tick(200);
    h.tick(3);
    expect(h.vote('tx1', 'bank-a', 'YES')).toEqual([]);
    expect(h.vote('tx1', 'bank-b', 'READ_ONLY')).toEqual([]);
    expect(h.vote('tx1', 'bank-b', 'READ_ONLY')).toEqual([]); // a duplicate
    expect(h.vote('tx1', 'bank-z', 'YES')).toEqual(['notice warn PARTICIPANT_NOT_ENLISTED tx1 bank-z']);
    expect(h.commit()).toEqual([
      'propose DECISION tx1 COMMIT VOTES: all participants voted YES or READ_ONLY',
    ]);
    expect(h.commit()).toEqual([
      'reply r1 decided tx1 COMMIT at 3/1',
      'send bank-a COMMIT tx1 term=1 attempt=1',
    ]);
    // BEGIN and PREPARING show where they were asked for, before the PREPAREs, although the log
    // got them at the first re-send; the votes keep the time they came at.
    expect(h.timeline('tx1').slice(0, 10)).toEqual([
      '+0 BEGIN -: began with 2 participants named [1/1]',
      '+0 ENLIST bank-a: enlisted at begin [1/1]',
      '+0 ENLIST bank-b: enlisted at begin [1/1]',
      '+0 PREPARING -: commit requested: asking 2 participants to prepare [2/1]',
      '+0 PREPARE_SENT bank-a: PREPARE sent, attempt 1',
      '+0 PREPARE_SENT bank-b: PREPARE sent, attempt 1',
      '+200 PREPARE_SENT bank-a: PREPARE sent, attempt 2',
      '+200 PREPARE_SENT bank-b: PREPARE sent, attempt 2',
      '+203 VOTE bank-a: voted YES',
      '+203 VOTE bank-b: voted READ_ONLY',
    ]);
  });

  it('begin with commit: a NO while held proposes BEGIN, PREPARING and ABORT at once; the others hear it', () => {
    const h = new Harness();
    h.lead();
    h.begin('tx1', ['bank-a', 'bank-b', 'bank-c'], { commit: 'decision' });
    h.vote('tx1', 'bank-a', 'YES');
    expect(h.vote('tx1', 'bank-b', 'NO', 'insufficient funds')).toEqual([
      'propose BEGIN tx1 bank-a,bank-b,bank-c',
      'propose PREPARING tx1',
      'propose DECISION tx1 ABORT VOTED_NO: bank-b voted NO: insufficient funds',
    ]);
    expect(h.vote('tx1', 'bank-c', 'YES')).toEqual([]);
    // BEGIN and PREPARING apply (nothing goes out: the decision is on its way), then the DECISION.
    expect(h.commit()).toEqual([
      'reply r1 decided tx1 ABORT at 3/1',
      'send bank-a ABORT tx1 term=1 attempt=1',
      'send bank-c ABORT tx1 term=1 attempt=1',
    ]);
  });

  it('a participant enlisted while PREPARING was proposed is asked at the apply, the others are not asked again', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a']);
    expect(h.enlist('tx1', 'bank-b')).toEqual(['propose ENLIST tx1 bank-b']);
    // An ENLIST in flight: PREPARING is proposed at once, not held, and lands behind it.
    expect(h.commitRequested('tx1')).toEqual([
      'propose PREPARING tx1',
      'send bank-a PREPARE tx1 term=1 attempt=1',
    ]);
    h.vote('tx1', 'bank-a', 'YES');
    expect(h.commit()).toEqual(['reply r2 enlisted tx1 bank-b', 'send bank-b PREPARE tx1 term=1 attempt=1']);
    expect(h.vote('tx1', 'bank-b', 'YES')).toEqual([
      'propose DECISION tx1 COMMIT VOTES: all participants voted YES',
    ]);
  });

  it('the re-send backoff starts when PREPARE left, not when PREPARING was applied', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a']);
    h.failover(); // inherited: PREPARING is proposed at once
    h.commitRequested('tx1');
    h.nowMs += 150;
    h.commit();
    expect(h.tick(49)).toEqual([]);
    expect(h.tick(1)).toEqual(['send bank-a PREPARE tx1 term=2 attempt=2']);
  });

  it('BEGIN lost with the leader after PREPARE went out: the new leader has no record, the participant is told ABORT', () => {
    const h = new Harness();
    h.lead();
    h.begin('tx1', ['bank-a'], { commit: 'decision' });
    h.vote('tx1', 'bank-a', 'YES');
    const { old } = h.failover({ survivors: 0 });
    expect(old).toEqual(['reply r1 LEADERSHIP_LOST']);
    // bank-a holds tx1 prepared and asks; the host answers from history, ABORT without a record.
    expect(
      h.trace({ kind: 'outcomeQuery', txId: txIdOf('tx1'), participant: 'bank-a', requestId: null }),
    ).toEqual(['look up tx1 in history for bank-a']);
  });

  it('a BEGIN applied after the leader reset its memory within the term: its ABORT goes to everyone', () => {
    const h = new Harness();
    h.lead();
    h.begin('tx1', ['bank-a', 'bank-b'], { commit: 'decision' });
    h.tick(200);
    // Raft refused a proposal: the host resets the engine's leader memory and leads on.
    expect(h.trace({ kind: 'lostLeadership' })).toEqual(['reply r1 LEADERSHIP_LOST']);
    h.lead(h.term);
    // The BEGIN commits; this memory never knew who was sent PREPARE with it.
    expect(h.commit(1)).toEqual([]);
    h.abortRequested('tx1');
    // Should the DECISION reach the log before the PREPARING, nothing in the log says who may
    // be prepared: everyone hears the ABORT.
    h.pending.reverse();
    expect(h.commit()).toEqual([
      'reply r2 decided tx1 ABORT at 2/1',
      'send bank-a ABORT tx1 term=1 attempt=1',
      'send bank-b ABORT tx1 term=1 attempt=1',
      'notice info ENTRY_VOID tx1',
    ]);
  });

  it('PREPARING lost with the leader: the new leader cannot know who was prepared, so its ABORT goes to everyone', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a', 'bank-b'], 1000);
    h.commitRequested('tx1');
    h.vote('tx1', 'bank-a', 'YES');
    h.failover({ survivors: 0 });
    // The log says ACTIVE; bank-a is prepared all the same.
    expect(h.tick(1000)).toEqual([
      'propose DECISION tx1 ABORT DEADLINE: deadline 2026-11-25T10:00:01.000Z passed before commit was requested',
    ]);
    expect(h.commit()).toEqual([
      'send bank-a ABORT tx1 term=2 attempt=1',
      'send bank-b ABORT tx1 term=2 attempt=1',
    ]);
  });
});

describe('deadlines and re-sends', () => {
  it('no vote before the prepare deadline: ABORT naming the silent participant, ABORT to every participant', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a', 'bank-b']);
    h.vote('tx1', 'bank-a', 'YES');
    h.tick(4999);
    const atDeadline = h.tick(1);
    expect(atDeadline).toEqual([
      'propose DECISION tx1 ABORT DEADLINE: prepare deadline 2026-11-25T10:00:05.000Z passed with no vote from bank-b',
    ]);
    expect(h.commit()).toEqual([
      'reply r2 decided tx1 ABORT at 3/1',
      'send bank-a ABORT tx1 term=1 attempt=1',
      'send bank-b ABORT tx1 term=1 attempt=1',
    ]);
  });

  it('ACTIVE past its deadline (commit never requested): ABORT, and nobody needs a phase-two message', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a', 'bank-b'], 1000);
    expect(h.tick(999)).toEqual([]);
    expect(h.tick(1)).toEqual([
      'propose DECISION tx1 ABORT DEADLINE: deadline 2026-11-25T10:00:01.000Z passed before commit was requested',
    ]);
    // No PREPARE was ever sent, so no participant holds anything: finished at the decision.
    expect(h.commit()).toEqual(['archive tx1 ABORTED']);
  });

  it('clock moves time between ticks, for what is recorded, and fires no deadline or re-send', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a', 'bank-b'], 1000);
    h.nowMs += 7;
    expect(h.trace({ kind: 'clock', nowMs: h.nowMs })).toEqual([]);
    h.commitRequested('tx1');
    // Past the deadline and the first re-send, yet nothing fires until the next tick.
    h.nowMs += 2000;
    expect(h.trace({ kind: 'clock', nowMs: h.nowMs })).toEqual([]);
    expect(h.tick(0)).toEqual([
      'propose PREPARING tx1',
      'propose DECISION tx1 ABORT DEADLINE: prepare deadline 2026-11-25T10:00:01.000Z passed with no vote from bank-a, bank-b',
    ]);
    h.commit();
    // PREPARING carries the clock's time when commit was requested, not the last tick's.
    expect(h.timeline('tx1')).toContain(
      '+7 PREPARING -: commit requested: asking 2 participants to prepare [2/1]',
    );
  });

  it('PREPARE is re-sent to participants without a vote, backing off from 200 ms', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a', 'bank-b']);
    h.vote('tx1', 'bank-a', 'YES');
    expect(h.tick(199)).toEqual([]);
    // The first re-send also puts the held PREPARING into the log.
    expect(h.tick(1)).toEqual(['propose PREPARING tx1', 'send bank-b PREPARE tx1 term=1 attempt=2']);
    h.commit();
    expect(h.tick(399)).toEqual([]);
    expect(h.tick(1)).toEqual(['send bank-b PREPARE tx1 term=1 attempt=3']);
    expect(h.tick(800)).toEqual(['send bank-b PREPARE tx1 term=1 attempt=4']);
  });

  it('the decision is re-sent until acknowledged, the delay doubling up to RETRY_DELAY_MS_MAX', () => {
    const h = new Harness();
    h.lead();
    h.committing('tx1', ['bank-a', 'bank-b']);
    h.ack('tx1', 'bank-a', 'COMMIT');
    const resendTimes: number[] = [];
    const start = h.nowMs;
    for (let step = 0; step < 4000; step += 1) {
      const effects = h.step({ kind: 'tick', nowMs: (h.nowMs += 100) });
      for (const effect of effects) {
        expect(effect).toMatchObject({ kind: 'send', participant: 'bank-b', message: { type: 'COMMIT' } });
        resendTimes.push(h.nowMs - start);
      }
    }
    const gaps = resendTimes.map((time, position) => time - (resendTimes[position - 1] ?? 0));
    expect(gaps.slice(0, 9)).toEqual([200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000]);
    expect(new Set(gaps.slice(8))).toEqual(new Set([RETRY_DELAY_MS_MAX]));
    expect(h.ack('tx1', 'bank-b', 'COMMIT')).toEqual(['archive tx1 COMMITTED']);
    expect(h.tick(RETRY_DELAY_MS_MAX * 2)).toEqual([]);
  });

  it('retryDelayMs: capped exponential from RETRY_DELAY_MS_MIN', () => {
    expect([0, 1, 2, 3, 7, 8, 9, 1000].map(retryDelayMs)).toEqual([
      200, 400, 800, 1600, 25_600, 30_000, 30_000, 30_000,
    ]);
    expect(() => retryDelayMs(-1)).toThrow(InvariantViolation);
  });
});

describe('duplicates, contradictions, strangers', () => {
  it('duplicate votes and acks change nothing', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a', 'bank-b']);
    h.vote('tx1', 'bank-a', 'YES');
    expect(h.vote('tx1', 'bank-a', 'YES')).toEqual([]);
    h.vote('tx1', 'bank-b', 'YES');
    expect(h.vote('tx1', 'bank-b', 'YES')).toEqual([]);
    h.commit();
    h.ack('tx1', 'bank-a', 'COMMIT');
    expect(h.ack('tx1', 'bank-a', 'COMMIT')).toEqual([]);
    expect(h.ack('tx1', 'bank-b', 'COMMIT')).toEqual(['archive tx1 COMMITTED']);
    expect(h.ack('tx1', 'bank-b', 'COMMIT')).toEqual([]);
  });

  it('a vote contradicting an earlier one is an error notice, not a crash; a NO while undecided aborts', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a', 'bank-b']);
    h.vote('tx1', 'bank-a', 'YES');
    expect(h.vote('tx1', 'bank-a', 'NO', 'changed its mind')).toEqual([
      'notice error VOTE_CONTRADICTS tx1 bank-a',
      'propose PREPARING tx1',
      "propose DECISION tx1 ABORT VOTED_NO: bank-a voted NO (term 1) after voting YES: a participant's vote is durable and must not change; its state is suspect",
    ]);
    h.commit();
    // After the decision a contradiction is only reported.
    expect(h.vote('tx1', 'bank-a', 'READ_ONLY')).toEqual(['notice error VOTE_CONTRADICTS tx1 bank-a']);
  });

  it('a NO reaching a new leader after COMMIT was decided is reported, never recorded as the vote', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a', 'bank-b']);
    h.vote('tx1', 'bank-a', 'YES');
    h.vote('tx1', 'bank-b', 'YES');
    h.commit();
    // The successor knows the decision from the log, not the votes.
    h.failover();
    expect(h.vote('tx1', 'bank-b', 'NO', 'forgot its YES in a restart')).toEqual([
      'notice error VOTE_CONTRADICTS tx1 bank-b',
    ]);
    const bankB = viewTransaction(h.state, txIdOf('tx1'), h.nowMs)?.participants.find(
      (participant) => participant.name === 'bank-b',
    );
    expect(bankB?.vote).toBeNull();
    expect(bankB?.lastError).toMatch(/voted NO .* after COMMIT was decided on its YES/);
    // Its ACK still finishes the transaction, and the archive record holds no NO (the successor
    // never heard either YES: votes are not in the log).
    h.ack('tx1', 'bank-a', 'COMMIT');
    const archived = h.step({
      kind: 'ack',
      txId: txIdOf('tx1'),
      participant: 'bank-b',
      outcome: 'COMMIT',
      term: 2,
    });
    const record = archived.find((effect) => effect.kind === 'archive');
    expect(record?.kind === 'archive' && record.record.participants.map((each) => each.vote)).toEqual([
      null,
      null,
    ]);
  });

  it('a vote from a participant that is not enlisted is ignored with a notice', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a']);
    expect(h.vote('tx1', 'bank-z', 'YES')).toEqual(['notice warn PARTICIPANT_NOT_ENLISTED tx1 bank-z']);
    expect(h.vote('tx9', 'bank-a', 'YES')).toEqual(['notice info TRANSACTION_NOT_LIVE tx9 bank-a']);
  });

  it('a vote while ACTIVE is out of phase and ignored: no PREPARE was sent', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a']);
    expect(h.vote('tx1', 'bank-a', 'YES')).toEqual(['notice warn OUT_OF_PHASE tx1 bank-a']);
    expect(h.commitRequested('tx1')).toEqual(['send bank-a PREPARE tx1 term=1 attempt=1']);
    expect(h.commit()).toEqual([]);
  });

  it('an ACK of the other outcome is an error notice and does not count as acknowledgement', () => {
    const h = new Harness();
    h.lead();
    h.committing('tx1', ['bank-a']);
    expect(h.ack('tx1', 'bank-a', 'ABORT')).toEqual(['notice error ACK_OUTCOME_MISMATCH tx1 bank-a']);
    expect(h.tick(200)).toEqual(['send bank-a COMMIT tx1 term=1 attempt=2']);
    expect(h.ack('tx1', 'bank-a', 'COMMIT')).toEqual(['archive tx1 COMMITTED']);
  });

  it('an ACK before any decision is out of phase and ignored', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a']);
    expect(h.ack('tx1', 'bank-a', 'ABORT')).toEqual(['notice warn OUT_OF_PHASE tx1 bank-a']);
  });
});

describe('races decided by log order', () => {
  it('ENLIST proposed after commit was requested is refused when applied after PREPARING', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a']);
    h.failover(); // inherited: PREPARING is proposed at once, not held
    expect(h.commitRequested('tx1')).toEqual([
      'propose PREPARING tx1',
      'send bank-a PREPARE tx1 term=2 attempt=1',
    ]);
    expect(h.enlist('tx1', 'bank-b')).toEqual(['propose ENLIST tx1 bank-b']);
    expect(h.commit()).toEqual(['reply r3 TX_NOT_ACTIVE']);
    expect(errorOf(h, 'r3').message).toBe(
      `transaction ${txIdOf('tx1')} is PREPARING; participants can be enlisted only while ACTIVE`,
    );
  });

  it('abort requested while a DECISION COMMIT is in flight: answered DECISION_EXISTS once COMMIT is recorded', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a']);
    h.vote('tx1', 'bank-a', 'YES');
    expect(h.abortRequested('tx1')).toEqual([]);
    expect(h.commit()).toEqual([
      'reply r2 decided tx1 COMMIT at 3/1',
      'reply r3 DECISION_EXISTS',
      'send bank-a COMMIT tx1 term=1 attempt=1',
    ]);
  });

  it('abort and commit requested together: the abort wins the log, the commit is answered with ABORT', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a']);
    h.failover(); // inherited: PREPARING is proposed at once, not held
    expect(h.commitRequested('tx1')).toEqual([
      'propose PREPARING tx1',
      'send bank-a PREPARE tx1 term=2 attempt=1',
    ]);
    expect(h.abortRequested('tx1')).toEqual([
      'propose DECISION tx1 ABORT CLIENT_ABORT: abort requested by the client',
    ]);
    expect(h.commit()).toEqual([
      // PREPARING applied first, but a decision is on its way: no PREPARE goes out again.
      'reply r2 decided tx1 ABORT at 3/2',
      'reply r3 decided tx1 ABORT at 3/2',
      'send bank-a ABORT tx1 term=2 attempt=1',
    ]);
  });

  it('abort applied before PREPARING: PREPARING is void; the PREPARE sent with it is undone', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a']);
    h.commitRequested('tx1');
    h.abortRequested('tx1');
    h.pending.reverse(); // as if another ordering had reached the log
    // Decided while ACTIVE, yet bank-a was sent PREPARE with the proposal: it may be prepared.
    expect(h.commit()).toEqual([
      'reply r2 decided tx1 ABORT at 2/1',
      'reply r3 decided tx1 ABORT at 2/1',
      'send bank-a ABORT tx1 term=1 attempt=1',
      'notice info ENTRY_VOID tx1',
    ]);
    expect(h.ack('tx1', 'bank-a', 'ABORT')).toEqual(['archive tx1 ABORTED']);
  });

  it('decided while ACTIVE and never asked to commit: nobody was sent PREPARE, nobody hears ABORT', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a']);
    h.abortRequested('tx1');
    expect(h.commit()).toEqual(['reply r2 decided tx1 ABORT at 2/1', 'archive tx1 ABORTED']);
  });

  it('a second DECISION in the log is void: the first one stands', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a']);
    h.vote('tx1', 'bank-a', 'YES');
    const first = h.pending.at(-1);
    if (first?.kind !== 'DECISION') throw new Error('expected a DECISION proposal');
    h.pending.push({
      ...first,
      outcome: 'ABORT',
      cause: 'OPERATOR',
      reason: 'late',
      resolvedBy: 'operator:bob',
    });
    expect(h.commit()).toEqual([
      'reply r2 decided tx1 COMMIT at 3/1',
      'send bank-a COMMIT tx1 term=1 attempt=1',
      'notice warn ENTRY_VOID tx1',
    ]);
    expect(h.state.replicated.transactions.get(txIdOf('tx1'))?.decision?.outcome).toBe('COMMIT');
  });
});

describe('leader changes', () => {
  it('a reset within the same term (a refused proposal): entries proposed before it still apply, the first DECISION wins', () => {
    const h = new Harness();
    h.lead();
    h.preparingLogged('tx1', ['bank-a', 'bank-b']);
    h.vote('tx1', 'bank-a', 'YES');
    expect(h.vote('tx1', 'bank-b', 'YES')).toEqual([
      'propose DECISION tx1 COMMIT VOTES: all participants voted YES',
    ]);
    // Raft refused a later proposal while this node still leads term 1: the host resets the
    // engine's leader memory and leads the same term again. The DECISION above is still in flight.
    expect(h.trace({ kind: 'lostLeadership' })).toEqual(['reply r2 LEADERSHIP_LOST']);
    expect(h.lead(1)).toEqual([
      'send bank-a PREPARE tx1 term=1 attempt=1',
      'send bank-b PREPARE tx1 term=1 attempt=1',
    ]);
    // The in-flight DECISION commits: phase two starts from it, although this leader memory never
    // proposed it.
    expect(h.commit()).toEqual([
      'send bank-a COMMIT tx1 term=1 attempt=1',
      'send bank-b COMMIT tx1 term=1 attempt=1',
    ]);
    // Votes answering the re-sent PREPARE change nothing: the transaction is decided.
    expect(h.vote('tx1', 'bank-a', 'YES')).toEqual([]);
    h.ack('tx1', 'bank-a', 'COMMIT');
    expect(h.ack('tx1', 'bank-b', 'COMMIT')).toEqual(['archive tx1 COMMITTED']);
  });

  it('leader dies after DECISION committed: successor re-sends it to every participant', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a', 'bank-b', 'audit-log']);
    h.vote('tx1', 'audit-log', 'READ_ONLY');
    h.vote('tx1', 'bank-a', 'YES');
    h.vote('tx1', 'bank-b', 'YES');
    h.commit();
    h.ack('tx1', 'bank-a', 'COMMIT');
    const { successor } = h.failover();
    // The successor never saw the votes or acks: it sends the recorded decision to everyone,
    // the READ_ONLY voter included (it answers ACK for a transaction it holds nothing for).
    expect(successor).toEqual([
      'send bank-a COMMIT tx1 term=2 attempt=1',
      'send bank-b COMMIT tx1 term=2 attempt=1',
      'send audit-log COMMIT tx1 term=2 attempt=1',
    ]);
    h.ack('tx1', 'bank-a', 'COMMIT');
    h.ack('tx1', 'bank-b', 'COMMIT');
    expect(h.ack('tx1', 'audit-log', 'COMMIT')).toEqual(['archive tx1 COMMITTED']);
  });

  it('leader dies before the decision: successor re-sends PREPARE under its term with fresh attempts', () => {
    const h = new Harness();
    h.lead();
    h.preparingLogged('tx1', ['bank-a', 'bank-b']);
    h.vote('tx1', 'bank-a', 'YES');
    const { old, successor } = h.failover();
    expect(old).toEqual(['reply r2 LEADERSHIP_LOST']);
    expect(successor).toEqual([
      'send bank-a PREPARE tx1 term=2 attempt=1',
      'send bank-b PREPARE tx1 term=2 attempt=1',
    ]);
  });

  it('votes answering an older term’s PREPARE still count after a leader change', () => {
    const h = new Harness();
    h.lead();
    h.preparingLogged('tx1', ['bank-a', 'bank-b']);
    h.failover();
    // Both votes answer the term-1 PREPARE; the term-2 leader takes them as the facts they are.
    expect(
      h.trace({
        kind: 'participantVote',
        txId: txIdOf('tx1'),
        participant: 'bank-a',
        vote: 'YES',
        reason: null,
        term: 1,
      }),
    ).toEqual([]);
    expect(
      h.trace({
        kind: 'participantVote',
        txId: txIdOf('tx1'),
        participant: 'bank-b',
        vote: 'YES',
        reason: null,
        term: 1,
      }),
    ).toEqual(['propose DECISION tx1 COMMIT VOTES: all participants voted YES']);
    expect(h.commit()).toEqual([
      'send bank-a COMMIT tx1 term=2 attempt=1',
      'send bank-b COMMIT tx1 term=2 attempt=1',
    ]);
  });

  it('leader dies with its DECISION proposed but not committed: the entry is lost, the successor re-collects votes', () => {
    const h = new Harness();
    h.lead();
    h.preparingLogged('tx1', ['bank-a']);
    h.vote('tx1', 'bank-a', 'YES');
    expect(h.pending.map((entry) => entry.kind)).toEqual(['DECISION']);
    const { old, successor } = h.failover({ survivors: 0 });
    expect(old).toEqual(['reply r2 LEADERSHIP_LOST']);
    expect(successor).toEqual(['send bank-a PREPARE tx1 term=2 attempt=1']);
    expect(h.vote('tx1', 'bank-a', 'YES')).toEqual([
      'propose DECISION tx1 COMMIT VOTES: all participants voted YES',
    ]);
    expect(h.commit()).toEqual(['send bank-a COMMIT tx1 term=2 attempt=1']);
  });

  it('leader dies with its DECISION proposed and the entry survives: the successor sends that decision', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a']);
    h.vote('tx1', 'bank-a', 'YES');
    expect(h.pending.map((entry) => entry.kind)).toEqual(['PREPARING', 'DECISION']);
    const { successor } = h.failover({ survivors: 2 });
    expect(successor).toEqual(['send bank-a COMMIT tx1 term=2 attempt=1']);
  });

  it('leader dies and the successor takes over past the deadline: it proposes ABORT at once', () => {
    const h = new Harness();
    h.lead();
    h.preparingLogged('tx1', ['bank-a', 'bank-b']);
    h.vote('tx1', 'bank-a', 'YES');
    h.nowMs += 6000; // the election took a while; the successor's clock reads past the deadline
    const { successor } = h.failover();
    expect(successor).toEqual([
      'propose DECISION tx1 ABORT DEADLINE: prepare deadline 2026-11-25T10:00:05.000Z passed with no vote from bank-a, bank-b',
    ]);
    expect(h.commit()).toEqual([
      'send bank-a ABORT tx1 term=2 attempt=1',
      'send bank-b ABORT tx1 term=2 attempt=1',
    ]);
  });

  it('leader dies with requests waiting: each one is answered LEADERSHIP_LOST', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a']);
    h.begin('tx2', ['bank-a']);
    h.enlist('tx1', 'bank-b');
    h.commitRequested('tx1', 'completion');
    const { old } = h.failover();
    expect(old).toEqual(['reply r2 LEADERSHIP_LOST', 'reply r3 LEADERSHIP_LOST', 'reply r4 LEADERSHIP_LOST']);
    expect(errorOf(h, 'r2').message).toContain('retry begin with the same Idempotency-Key');
  });

  it('a successor rebuilt from a snapshot resumes exactly like one rebuilt from the log', () => {
    const build = (viaSnapshot: boolean): string[] => {
      const h = new Harness();
      h.lead();
      h.committing('tx1', ['bank-a', 'bank-b']);
      h.preparingLogged('tx2', ['bank-c']);
      h.started('tx3', ['bank-d']);
      return h.failover({ viaSnapshot }).successor;
    };
    const fromLog = build(false);
    expect(fromLog).toEqual([
      'send bank-a COMMIT tx1 term=2 attempt=1',
      'send bank-b COMMIT tx1 term=2 attempt=1',
      'send bank-c PREPARE tx2 term=2 attempt=1',
    ]);
    expect(build(true)).toEqual(fromLog);
  });

  it('a follower answers requests NOT_LEADER and ignores participant messages', () => {
    const h = new Harness();
    expect(h.begin('tx1', ['bank-a'])).toEqual(['reply r1 NOT_LEADER']);
    expect(h.commitRequested('tx1')).toEqual(['reply r2 NOT_LEADER']);
    expect(h.vote('tx1', 'bank-a', 'YES')).toEqual([]);
    expect(h.ack('tx1', 'bank-a', 'COMMIT')).toEqual([]);
    expect(
      h.trace({ kind: 'outcomeQuery', txId: txIdOf('tx1'), participant: 'bank-a', requestId: null }),
    ).toEqual([]);
    expect(
      h.trace({ kind: 'participantUnavailable', participant: 'bank-a', reason: 'breaker open' }),
    ).toEqual([]);
  });

  it('a follower applies entries without effects and keeps the same replicated state as the leader', () => {
    const h = new Harness();
    h.lead();
    h.committing('tx1', ['bank-a']);
    let follower = createEngineState();
    for (const { entry, index, term } of h.log) {
      const applied = transition(follower, { kind: 'entryCommitted', entry, index, position: 0, term });
      expect(applied.effects).toEqual([]);
      follower = applied.state;
    }
    expect(follower.replicated).toEqual(h.state.replicated);
  });
});

describe('idempotency keys', () => {
  const idempotency = { key: 'order-42', fingerprint: 'sha256:aaaa' };

  it('same key and body: the same txId, also while the first BEGIN is still in flight', () => {
    const h = new Harness();
    h.lead();
    expect(h.begin('tx1', ['bank-a'], { idempotency })).toEqual(['propose BEGIN tx1 bank-a']);
    expect(h.begin('tx2', ['bank-a'], { idempotency })).toEqual([]);
    expect(h.commit()).toEqual(['reply r1 begun tx1', 'reply r2 begun tx1 (replayed)']);
    expect(h.begin('tx3', ['bank-a'], { idempotency })).toEqual(['reply r3 begun tx1 (replayed)']);
    expect(h.state.replicated.transactions.size).toBe(1);
  });

  it('same key with another body: IDEMPOTENCY_MISMATCH naming the first transaction', () => {
    const h = new Harness();
    h.lead();
    h.begin('tx1', ['bank-a'], { idempotency });
    expect(
      h.begin('tx2', ['bank-b'], { idempotency: { key: 'order-42', fingerprint: 'sha256:bbbb' } }),
    ).toEqual(['reply r2 IDEMPOTENCY_MISMATCH']);
    h.commit();
    expect(
      h.begin('tx3', ['bank-b'], { idempotency: { key: 'order-42', fingerprint: 'sha256:bbbb' } }),
    ).toEqual(['reply r3 IDEMPOTENCY_MISMATCH']);
    expect(h.replies.get('r3')).toMatchObject({
      ok: false,
      error: { idempotencyKey: 'order-42', txId: txIdOf('tx1') },
    });
  });

  it('two leaders each proposed a BEGIN for one key: the first in the log wins, the second is void', () => {
    const h = new Harness();
    h.lead();
    h.begin('tx1', ['bank-a'], { idempotency });
    h.failover({ survivors: 1 });
    // The successor has the BEGIN of tx1 applied; pretend a stale proposal of the same key lands.
    h.pending.push({
      kind: 'BEGIN',
      txId: txIdOf('tx2'),
      participants: [{ name: 'bank-a', work: null }],
      createdAtMs: h.nowMs,
      deadlineMs: h.nowMs + 5000,
      metadata: {},
      idempotency,
    });
    expect(h.commit()).toEqual([]);
    expect([...h.state.replicated.transactions.keys()]).toEqual([txIdOf('tx1')]);
  });

  it('keys expire IDEMPOTENCY_KEY_TTL_MS after their BEGIN, measured on later BEGINs’ clocks', () => {
    const h = new Harness();
    h.lead();
    h.begin('tx1', ['bank-a'], { idempotency });
    h.commit();
    h.tick(IDEMPOTENCY_KEY_TTL_MS + 1);
    h.begin('tx2', ['bank-a'], { idempotency: { key: 'order-43', fingerprint: 'sha256:cccc' } });
    h.commit();
    expect([...h.state.replicated.idempotencyKeys.keys()]).toEqual(['order-43']);
  });
});

describe('operator resolution', () => {
  it('operator ABORT on an undecided transaction records who and why', () => {
    const h = new Harness();
    h.lead();
    h.preparingLogged('tx1', ['bank-a', 'bank-b']);
    expect(h.resolve('tx1', 'ABORT', 'bank-b lost its disk', 'operator:ada')).toEqual([
      'propose DECISION tx1 ABORT OPERATOR by operator:ada: bank-b lost its disk',
    ]);
    expect(h.commit()).toEqual([
      'reply r2 decided tx1 ABORT at 3/1',
      'reply r3 decided tx1 ABORT at 3/1',
      'send bank-a ABORT tx1 term=1 attempt=1',
      'send bank-b ABORT tx1 term=1 attempt=1',
    ]);
    expect(h.state.replicated.transactions.get(txIdOf('tx1'))?.decision).toMatchObject({
      cause: 'OPERATOR',
      resolvedBy: 'operator:ada',
      reason: 'bank-b lost its disk',
    });
  });

  it('operator COMMIT without a known YES from everyone is refused, saying votes live in leader memory', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a', 'bank-b']);
    h.vote('tx1', 'bank-a', 'YES');
    expect(h.resolve('tx1', 'COMMIT')).toEqual(['reply r3 RESOLVE_NOT_ALLOWED']);
    expect(errorOf(h, 'r3').message).toBe(
      'COMMIT needs a known YES vote from every participant; this leader has none from bank-b. Votes live only ' +
        'in the leader’s memory (a leader change forgets them until participants answer the re-sent PREPARE): ' +
        'wait and retry, or resolve ABORT',
    );
  });

  it('operator COMMIT after a leader change is refused until the participants vote again', () => {
    const h = new Harness();
    h.lead();
    h.preparingLogged('tx1', ['bank-a']);
    h.failover();
    expect(h.resolve('tx1', 'COMMIT')).toEqual(['reply r3 RESOLVE_NOT_ALLOWED']);
    expect(errorOf(h, 'r3').message).toContain('none from bank-a');
  });

  it('operator COMMIT on an ACTIVE transaction is refused: nobody voted', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a']);
    expect(h.resolve('tx1', 'COMMIT')).toEqual(['reply r2 RESOLVE_NOT_ALLOWED']);
  });

  it('operator resolution of a decided transaction: DECISION_EXISTS with the recorded decision', () => {
    const h = new Harness();
    h.lead();
    h.committing('tx1', ['bank-a']);
    expect(h.resolve('tx1', 'ABORT')).toEqual(['reply r3 DECISION_EXISTS']);
    expect(h.replies.get('r3')).toMatchObject({
      ok: false,
      error: { code: 'DECISION_EXISTS', decision: { outcome: 'COMMIT', raftIndex: 3, raftTerm: 1 } },
    });
    expect(errorOf(h, 'r3').message).toBe(
      `transaction ${txIdOf('tx1')} was decided COMMIT (all participants voted YES) at Raft index 3, term 1; ` +
        'a decision never changes',
    );
  });

  it('operator ABORT racing the deadline’s ABORT: one entry is proposed, the operator is answered with it', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a']);
    h.tick(5000);
    expect(h.resolve('tx1', 'ABORT')).toEqual([]);
    expect(h.commit()).toEqual([
      'reply r2 decided tx1 ABORT at 3/1',
      'reply r3 decided tx1 ABORT at 3/1',
      'send bank-a ABORT tx1 term=1 attempt=1',
    ]);
  });
});

describe('participant circuit breakers', () => {
  it('a breaker opens during prepare: transactions still waiting for that vote abort at once, saying why', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a', 'bank-b']);
    h.preparing('tx2', ['bank-a', 'bank-b']);
    h.vote('tx2', 'bank-b', 'YES');
    expect(
      h.trace({
        kind: 'participantUnavailable',
        participant: 'bank-b',
        reason: 'circuit breaker open after 5 failed sends',
      }),
    ).toEqual([
      'propose PREPARING tx1',
      'propose DECISION tx1 ABORT PARTICIPANT_UNAVAILABLE: participant bank-b is unavailable (circuit breaker open after 5 failed sends)',
    ]);
  });

  it('a breaker opens while a BEGIN is held for the votes: BEGIN, PREPARING and ABORT at once', () => {
    const h = new Harness();
    h.lead();
    h.begin('tx1', ['bank-a', 'bank-b'], { commit: 'decision' });
    h.vote('tx1', 'bank-b', 'YES');
    expect(
      h.trace({ kind: 'participantUnavailable', participant: 'bank-b', reason: 'circuit breaker open' }),
    ).toEqual([]);
    expect(
      h.trace({ kind: 'participantUnavailable', participant: 'bank-a', reason: 'circuit breaker open' }),
    ).toEqual([
      'propose BEGIN tx1 bank-a,bank-b',
      'propose PREPARING tx1',
      'propose DECISION tx1 ABORT PARTICIPANT_UNAVAILABLE: participant bank-a is unavailable (circuit breaker open)',
    ]);
    expect(h.commit()).toEqual([
      'reply r1 decided tx1 ABORT at 3/1',
      'send bank-a ABORT tx1 term=1 attempt=1',
      'send bank-b ABORT tx1 term=1 attempt=1',
    ]);
  });

  it('commit requested while a participant’s breaker is open: ABORT without any PREPARE', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a', 'bank-b']);
    h.trace({ kind: 'participantUnavailable', participant: 'bank-b', reason: 'circuit breaker open' });
    expect(h.commitRequested('tx1')).toEqual([
      'propose DECISION tx1 ABORT PARTICIPANT_UNAVAILABLE: participant bank-b is unavailable (circuit breaker open)',
    ]);
    expect(h.commit()).toEqual(['reply r2 decided tx1 ABORT at 2/1', 'archive tx1 ABORTED']);
  });

  it('a breaker that closed again no longer aborts anything', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a']);
    h.trace({ kind: 'participantUnavailable', participant: 'bank-a', reason: 'circuit breaker open' });
    h.trace({ kind: 'participantAvailable', participant: 'bank-a' });
    expect(h.commitRequested('tx1')).toEqual(['send bank-a PREPARE tx1 term=1 attempt=1']);
  });
});

describe('outcome queries and presumed abort', () => {
  it('OUTCOME_QUERY on Kafka for a decided transaction: the recorded decision is sent to the asker', () => {
    const h = new Harness();
    h.lead();
    h.committing('tx1', ['bank-a', 'bank-b']);
    expect(
      h.trace({ kind: 'outcomeQuery', txId: txIdOf('tx1'), participant: 'bank-b', requestId: null }),
    ).toEqual(['send bank-b COMMIT tx1 term=1 attempt=2']);
  });

  it('OUTCOME_QUERY for an undecided transaction gets no answer yet: the participant keeps waiting', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a']);
    expect(
      h.trace({ kind: 'outcomeQuery', txId: txIdOf('tx1'), participant: 'bank-a', requestId: null }),
    ).toEqual([]);
  });

  it('outcome of a txId the engine does not know: the host must look in history before presuming ABORT', () => {
    const h = new Harness();
    h.lead();
    expect(
      h.trace({ kind: 'outcomeQuery', txId: txIdOf('tx7'), participant: 'bank-a', requestId: null }),
    ).toEqual(['look up tx7 in history for bank-a']);
    expect(
      h.trace({ kind: 'outcomeQuery', txId: txIdOf('tx7'), participant: null, requestId: 'q1' }),
    ).toEqual(['look up tx7 in history for q1']);
  });

  it('outcome over REST: UNDECIDED while being begun or prepared, then the decision', () => {
    const h = new Harness();
    h.lead();
    h.begin('tx1', ['bank-a']);
    expect(
      h.trace({ kind: 'outcomeQuery', txId: txIdOf('tx1'), participant: null, requestId: 'q1' }),
    ).toEqual(['reply q1 outcome tx1 UNDECIDED']);
    h.commit();
    h.commitRequested('tx1');
    h.commit();
    expect(
      h.trace({ kind: 'outcomeQuery', txId: txIdOf('tx1'), participant: null, requestId: 'q2' }),
    ).toEqual(['reply q2 outcome tx1 UNDECIDED']);
    h.vote('tx1', 'bank-a', 'NO');
    h.commit();
    expect(
      h.trace({ kind: 'outcomeQuery', txId: txIdOf('tx1'), participant: null, requestId: 'q3' }),
    ).toEqual(['reply q3 outcome tx1 ABORT']);
  });
});

describe('retryPhaseTwo', () => {
  it('re-sends the decision now to participants that have not acknowledged, and restarts the backoff', () => {
    const h = new Harness();
    h.lead();
    h.committing('tx1', ['bank-a', 'bank-b']);
    h.ack('tx1', 'bank-a', 'COMMIT');
    h.tick(200);
    h.tick(400);
    h.tick(800);
    expect(
      h.trace({ kind: 'retryPhaseTwo', requestId: 'op1', txId: txIdOf('tx1'), requestedBy: 'operator:ada' }),
    ).toEqual(['send bank-b COMMIT tx1 term=1 attempt=5', 'reply op1 retried tx1 DECISION bank-b']);
    expect(h.tick(200)).toEqual(['send bank-b COMMIT tx1 term=1 attempt=6']);
  });

  it('while undecided it re-sends PREPARE to participants that have not voted', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a', 'bank-b']);
    h.vote('tx1', 'bank-a', 'YES');
    expect(
      h.trace({ kind: 'retryPhaseTwo', requestId: 'op1', txId: txIdOf('tx1'), requestedBy: 'operator:ada' }),
    ).toEqual([
      // Votes slow enough for an operator to step in: the held PREPARING goes into the log.
      'propose PREPARING tx1',
      'send bank-b PREPARE tx1 term=1 attempt=2',
      'reply op1 retried tx1 PREPARE bank-b',
    ]);
  });

  it('on a finished transaction there is nothing to retry: TX_NOT_ACTIVE', () => {
    const h = new Harness();
    h.lead();
    h.committing('tx1', ['bank-a']);
    h.ack('tx1', 'bank-a', 'COMMIT');
    expect(
      h.trace({ kind: 'retryPhaseTwo', requestId: 'op1', txId: txIdOf('tx1'), requestedBy: 'operator:ada' }),
    ).toEqual(['reply op1 TX_NOT_ACTIVE']);
    expect(errorOf(h, 'op1')).toMatchObject({ state: 'COMMITTED' });
  });

  it('a reason that is empty or longer than REASON_CHARS_MAX is refused before anything is re-sent', () => {
    const h = new Harness();
    h.lead();
    h.preparing('tx1', ['bank-a']);
    for (const [position, reason] of ['', 'x'.repeat(REASON_CHARS_MAX + 1)].entries()) {
      const requestId = `op${position}`;
      expect(
        h.trace({
          kind: 'retryPhaseTwo',
          requestId,
          txId: txIdOf('tx1'),
          requestedBy: 'operator:ada',
          reason,
        }),
      ).toEqual([`reply ${requestId} VALIDATION_FAILED`]);
      expect(errorOf(h, requestId)).toMatchObject({ field: 'reason' });
    }
  });
});

describe('requests that are refused', () => {
  it('begin: too many participants, a name twice, a bad name, a timeout out of range', () => {
    const h = new Harness();
    h.lead();
    const many = Array.from({ length: PARTICIPANTS_PER_TX_MAX + 1 }, (_, index) => `p-${index}`);
    expect(h.begin('tx1', many)).toEqual(['reply r1 VALIDATION_FAILED']);
    expect(h.begin('tx2', ['bank-a', 'bank-a'])).toEqual(['reply r2 VALIDATION_FAILED']);
    expect(errorOf(h, 'r2')).toMatchObject({ field: 'participants[1].name' });
    expect(h.begin('tx3', ['Bank A'])).toEqual(['reply r3 VALIDATION_FAILED']);
    expect(h.begin('tx4', ['bank-a'], { timeoutMs: 50 })).toEqual(['reply r4 VALIDATION_FAILED']);
    expect(errorOf(h, 'r4').message).toBe('timeoutMs is 50; use an integer from 100 to 600000');
    expect(h.pending).toEqual([]);
  });

  it('enlist: the same work again is fine, other work is PARTICIPANT_ALREADY_ENLISTED', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a']);
    expect(h.enlist('tx1', 'bank-b')).toEqual(['propose ENLIST tx1 bank-b']);
    expect(h.commit()).toEqual(['reply r2 enlisted tx1 bank-b']);
    expect(h.enlist('tx1', 'bank-b')).toEqual(['reply r3 enlisted tx1 bank-b']);
    expect(h.enlist('tx1', 'bank-b', { step: 'other' })).toEqual(['reply r4 PARTICIPANT_ALREADY_ENLISTED']);
  });

  it('enlist: the 65th participant is PARTICIPANT_LIMIT_REACHED', () => {
    const h = new Harness();
    h.lead();
    const names = Array.from({ length: PARTICIPANTS_PER_TX_MAX }, (_, index) => `p-${index}`);
    h.started('tx1', names);
    expect(h.enlist('tx1', 'one-more')).toEqual(['reply r2 PARTICIPANT_LIMIT_REACHED']);
  });

  it('commit with no participants: VALIDATION_FAILED, the transaction stays ACTIVE', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', []);
    expect(h.commitRequested('tx1')).toEqual(['reply r2 VALIDATION_FAILED']);
    expect(h.state.replicated.transactions.get(txIdOf('tx1'))?.phase).toBe('ACTIVE');
  });

  it('requests for an unknown transaction: TX_NOT_FOUND', () => {
    const h = new Harness();
    h.lead();
    expect(h.commitRequested('tx5')).toEqual(['reply r1 TX_NOT_FOUND']);
    expect(h.abortRequested('tx5')).toEqual(['reply r2 TX_NOT_FOUND']);
    expect(h.enlist('tx5', 'bank-a')).toEqual(['reply r3 TX_NOT_FOUND']);
  });

  it('commit again after the decision is answered with the same decision', () => {
    const h = new Harness();
    h.lead();
    h.committing('tx1', ['bank-a']);
    expect(h.commitRequested('tx1')).toEqual(['reply r3 decided tx1 COMMIT at 3/1']);
    expect(h.commitRequested('tx1', 'completion')).toEqual([]);
    expect(h.ack('tx1', 'bank-a', 'COMMIT')).toEqual([
      'reply r4 completed tx1 COMMIT',
      'archive tx1 COMMITTED',
    ]);
  });

  it('abort after COMMIT is recorded: DECISION_EXISTS; abort after ABORT: the same decision', () => {
    const h = new Harness();
    h.lead();
    h.committing('tx1', ['bank-a']);
    expect(h.abortRequested('tx1')).toEqual(['reply r3 DECISION_EXISTS']);
    h.started('tx2', ['bank-a']);
    h.abortRequested('tx2');
    h.commit();
    expect(h.abortRequested('tx2')).toEqual(['reply r6 decided tx2 ABORT at 5/1']);
  });
});

describe('programmer errors are InvariantViolations naming the values', () => {
  it('an entry applied twice, or out of order', () => {
    const h = new Harness();
    h.lead();
    h.started('tx1', ['bank-a']);
    const entry = h.log[0]?.entry;
    if (entry === undefined) throw new Error('no entry');
    expect(() => h.step({ kind: 'entryCommitted', entry, index: 1, position: 0, term: 1 })).toThrow(
      new InvariantViolation(
        'entry BEGIN at index 1 position 0 applied after index 1 position 0: entries apply once, in order',
      ),
    );
  });

  it('group commit: entries sharing one Raft index apply in position order, never twice', () => {
    const state = createEngineState();
    const begin = (txId: string) => ({
      kind: 'BEGIN' as const,
      txId,
      participants: [{ name: 'bank-a', work: null }],
      createdAtMs: T0,
      deadlineMs: T0 + 5_000,
      metadata: {},
      idempotency: null,
    });
    const first = txIdOf('tx1');
    const second = txIdOf('tx2');
    transition(state, { kind: 'entryCommitted', entry: begin(first), index: 7, position: 0, term: 2 });
    transition(state, { kind: 'entryCommitted', entry: begin(second), index: 7, position: 1, term: 2 });
    expect([...state.replicated.transactions.keys()]).toEqual([first, second]);
    expect(() =>
      transition(state, {
        kind: 'entryCommitted',
        entry: begin(txIdOf('tx3')),
        index: 7,
        position: 1,
        term: 2,
      }),
    ).toThrow(
      'entry BEGIN at index 7 position 1 applied after index 7 position 1: entries apply once, in order',
    );
  });

  it('becameLeader while leading, or for an older term', () => {
    const h = new Harness();
    h.lead(3);
    expect(() => h.step({ kind: 'becameLeader', term: 4, nowMs: T0 })).toThrow(
      'becameLeader(4) while leading term 3',
    );
    h.step({ kind: 'lostLeadership' });
    expect(() => h.step({ kind: 'becameLeader', term: 2, nowMs: T0 })).toThrow(
      'becameLeader(2) after leading term 3: terms never go back',
    );
  });

  it('begin with a txId already in use', () => {
    const h = new Harness();
    h.lead();
    h.begin('tx1', ['bank-a']);
    expect(() => h.begin('tx1', ['bank-b'])).toThrow(InvariantViolation);
  });

  it('a clock that goes backwards is an operating error: a notice, and time stays put', () => {
    const h = new Harness();
    h.lead();
    expect(h.trace({ kind: 'tick', nowMs: T0 - 5 })).toEqual(['notice warn CLOCK_WENT_BACKWARDS']);
    expect(h.state.nowMs).toBe(T0);
  });
});

itAuditedEveryEffectList(it, expect, { effectLists: 500, phaseTwoSends: 50 });
