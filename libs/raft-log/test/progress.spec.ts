import { describe, expect, it } from 'vitest';
import { Progress } from '../src/core/progress';

describe('Progress flow control', () => {
  it('probe sends one message, then waits for an answer', () => {
    const progress = new Progress(5);
    expect(progress.canSend(4)).toBe(true);
    progress.sent(6, 2);
    expect(progress.canSend(4)).toBe(false);
    progress.maybeUpdate(6);
    expect(progress.canSend(4)).toBe(true);
  });

  it('replicate pipelines up to the inflight window, freeing slots as matchIndex advances', () => {
    const progress = new Progress(1);
    progress.becomeReplicate();
    for (const last of [2, 4, 6]) progress.sent(last, 2);
    expect(progress.canSend(3)).toBe(false);
    expect(progress.nextIndex).toBe(7);
    progress.maybeUpdate(4);
    expect(progress.inflight).toEqual([6]);
    expect(progress.canSend(3)).toBe(true);
  });

  it.each([
    // state, matchIndex, nextIndex, rejectedIndex, probeFrom -> accepted, nextIndex after
    { state: 'probe', match: 0, next: 10, rejected: 9, probeFrom: 4, accepted: true, nextAfter: 5 },
    { state: 'probe', match: 0, next: 10, rejected: 7, probeFrom: 4, accepted: false, nextAfter: 10 },
    { state: 'probe', match: 6, next: 10, rejected: 9, probeFrom: 2, accepted: true, nextAfter: 7 },
    { state: 'replicate', match: 5, next: 12, rejected: 5, probeFrom: 0, accepted: false, nextAfter: 12 },
    { state: 'replicate', match: 5, next: 12, rejected: 8, probeFrom: 0, accepted: true, nextAfter: 6 },
  ] as const)(
    '$state rejection of $rejected (match $match, next $next): accepted=$accepted, nextIndex -> $nextAfter',
    ({ state, match, next, rejected, probeFrom, accepted, nextAfter }) => {
      const progress = new Progress(match + 1);
      progress.maybeUpdate(match);
      if (state === 'replicate') progress.becomeReplicate();
      progress.nextIndex = next;
      expect(progress.maybeDecreaseTo(rejected, probeFrom)).toBe(accepted);
      expect(progress.nextIndex).toBe(nextAfter);
    },
  );

  it('after a snapshot, probing resumes right after it', () => {
    const progress = new Progress(3);
    progress.becomeSnapshot(40);
    expect(progress.canSend(4)).toBe(false);
    progress.maybeUpdate(40);
    progress.becomeProbe();
    expect(progress.nextIndex).toBe(41);
  });
});
