import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  PARTICIPANT_CIRCUITS_MAX,
  ParticipantBreakers,
  type BreakerStateChange,
} from './participant-breakers';

const options = { failuresToOpen: 5, resetTimeoutMs: 10_000, probeTimeoutMs: 3_000 };

describe('ParticipantBreakers', () => {
  let breakers: ParticipantBreakers;
  let changes: BreakerStateChange[];
  // opossum settles each fire() in a promise callback.
  const settle = (): Promise<unknown> => vi.advanceTimersByTimeAsync(0);
  const timeouts = async (participant: string, count: number): Promise<void> => {
    for (let i = 0; i < count; i += 1) {
      breakers.recordPrepareTimeout(participant);
      await settle();
    }
  };
  const transitions = (): string[] =>
    changes.map((change) => `${change.participant}: ${change.from} -> ${change.to}`);

  beforeEach(() => {
    vi.useFakeTimers({ now: Date.UTC(2026, 10, 25, 10, 0, 0) });
    breakers = new ParticipantBreakers(options);
    changes = [];
    breakers.onStateChange((change) => changes.push(change));
  });

  afterEach(() => {
    breakers.close();
    vi.useRealTimers();
  });

  it('stays closed below the threshold, and a vote ends the failure streak', async () => {
    await timeouts('bank-b', 4);
    expect(breakers.isAvailable('bank-b')).toBe(true);
    expect(breakers.states()).toEqual([expect.objectContaining({ state: 'closed', consecutiveFailures: 4 })]);

    breakers.recordSuccess('bank-b');
    await settle();
    await timeouts('bank-b', 4);
    expect(breakers.admit('bank-b')).toEqual({ admitted: true, probe: false });
    expect(breakers.states()).toEqual([expect.objectContaining({ state: 'closed', consecutiveFailures: 4 })]);
    expect(changes).toEqual([]);
  });

  it('opens after 5 consecutive prepare timeouts and fails fast with the reason and retry time', async () => {
    await timeouts('bank-b', 5);
    expect(breakers.isAvailable('bank-b')).toBe(false);
    expect(breakers.admit('bank-b')).toEqual({
      admitted: false,
      reason:
        'participant bank-b is unavailable: circuit open after 5 consecutive prepare timeouts; retry after 10s',
    });
    expect(transitions()).toEqual(['bank-b: closed -> open']);
    expect(breakers.states()).toEqual([
      {
        participant: 'bank-b',
        state: 'open',
        consecutiveFailures: 5,
        openedAt: '2026-11-25T10:00:00.000Z',
        since: '2026-11-25T10:00:00.000Z',
        lastFailure: 'prepare timeout: no vote before the prepare deadline',
        reason: 'circuit open after 5 consecutive prepare timeouts; retry after 10s',
      },
    ]);
    expect(changes[0]?.reason).toBe('circuit open after 5 consecutive prepare timeouts; retry after 10s');
    expect(breakers.stateOf('bank-b')).toBe('open');
    // No breaker yet: a participant never seen is shown as closed by the callers.
    expect(breakers.stateOf('bank-z')).toBeUndefined();

    await vi.advanceTimersByTimeAsync(4_000);
    expect(breakers.unavailableReason('bank-b')).toMatch(/retry after 6s$/);
    // Other participants are unaffected.
    expect(breakers.admit('bank-a')).toEqual({ admitted: true, probe: false });
    // A late vote while open does not close it: only a probe after the reset timeout can.
    breakers.recordSuccess('bank-b');
    await settle();
    expect(breakers.isAvailable('bank-b')).toBe(false);
  });

  it('half-opens after the reset timeout, admits one probe, and closes when it votes', async () => {
    await timeouts('bank-b', 5);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(breakers.isAvailable('bank-b')).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(breakers.isAvailable('bank-b')).toBe(true);

    expect(breakers.admit('bank-b')).toEqual({ admitted: true, probe: true });
    expect(breakers.admit('bank-b')).toEqual({
      admitted: false,
      reason:
        'participant bank-b is unavailable: circuit half-open, a probe transaction is under way; retry after 3s',
    });

    breakers.recordSuccess('bank-b');
    await settle();
    expect(breakers.admit('bank-b')).toEqual({ admitted: true, probe: false });
    expect(transitions()).toEqual([
      'bank-b: closed -> open',
      'bank-b: open -> halfOpen',
      'bank-b: halfOpen -> closed',
    ]);
    expect(breakers.states()).toEqual([
      expect.objectContaining({ state: 'closed', consecutiveFailures: 0, openedAt: null, reason: null }),
    ]);
    // The streak starts again from zero.
    await timeouts('bank-b', 4);
    expect(breakers.isAvailable('bank-b')).toBe(true);
  });

  it('re-opens when the probe times out at the prepare deadline', async () => {
    await timeouts('bank-b', 5);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(breakers.admit('bank-b')).toMatchObject({ probe: true });
    breakers.recordPrepareTimeout('bank-b');
    await settle();
    expect(breakers.isAvailable('bank-b')).toBe(false);
    expect(breakers.unavailableReason('bank-b')).toMatch(
      /open after 6 consecutive prepare timeouts; retry after 10s$/,
    );
    expect(transitions()).toEqual([
      'bank-b: closed -> open',
      'bank-b: open -> halfOpen',
      'bank-b: halfOpen -> open',
    ]);
  });

  it('re-opens when the probe produces nothing within probeTimeoutMs', async () => {
    await timeouts('bank-b', 5);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(breakers.admit('bank-b')).toMatchObject({ probe: true });
    await vi.advanceTimersByTimeAsync(2_999);
    expect(breakers.states()[0]?.state).toBe('halfOpen');
    expect(breakers.stateOf('bank-b')).toBe('halfOpen');
    await vi.advanceTimersByTimeAsync(1);
    expect(breakers.states()[0]).toMatchObject({
      state: 'open',
      lastFailure: 'probe timeout: Timed out after 3000ms',
    });
    expect(breakers.unavailableReason('bank-b')).toMatch(
      /open after 6 consecutive failures \(5 prepare timeouts, 1 probe timeout\)/,
    );
  });

  it('closes on an operator reset, saying who, and starts a fresh streak', async () => {
    await timeouts('bank-b', 5);
    await vi.advanceTimersByTimeAsync(2_000);
    breakers.reset('bank-b', 'operator:alice');
    await settle();
    expect(breakers.admit('bank-b')).toEqual({ admitted: true, probe: false });
    expect(changes.at(-1)).toMatchObject({ from: 'open', to: 'closed', reason: 'reset by operator:alice' });
    expect(breakers.states()[0]).toMatchObject({ consecutiveFailures: 0, since: '2026-11-25T10:00:02.000Z' });
    await timeouts('bank-b', 4);
    expect(breakers.isAvailable('bank-b')).toBe(true);
  });

  it('counts send failures too, and names both kinds', async () => {
    await timeouts('bank-c', 3);
    breakers.recordSendFailure('bank-c', new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092'));
    breakers.recordSendFailure('bank-c', new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092'));
    await settle();
    expect(breakers.unavailableReason('bank-c')).toBe(
      'participant bank-c is unavailable: circuit open after 5 consecutive failures (3 prepare timeouts, 2 send failures); retry after 10s',
    );
    expect(breakers.states()[0]?.lastFailure).toBe(
      'send failure: Connection error: connect ECONNREFUSED 127.0.0.1:9092',
    );
  });

  it('keeps at most PARTICIPANT_CIRCUITS_MAX circuits, dropping idle ones before failing ones', async () => {
    await timeouts('bank-b', 5);
    for (let index = 1; index < PARTICIPANT_CIRCUITS_MAX; index += 1) breakers.recordSuccess(`p-${index}`);
    expect(breakers.states()).toHaveLength(PARTICIPANT_CIRCUITS_MAX);
    expect(breakers.admit('one-more')).toEqual({ admitted: true, probe: false });
    expect(breakers.states().map((state) => state.participant)).toEqual(['bank-b', 'one-more']);
    expect(breakers.isAvailable('bank-b')).toBe(false);
  });

  it('names the bad option', () => {
    expect(() => new ParticipantBreakers({ ...options, failuresToOpen: 0 })).toThrow(
      'breaker option failuresToOpen is 0; use an integer from 1 to 1000',
    );
  });
});
