import { describe, expect, it } from 'vitest';
import { commitStages, summarizeStages, type CommitCall } from './stages.mjs';

const at = (ms: number): string => new Date(1_700_000_000_000 + ms).toISOString();
const call = (events: readonly [number, string][], sentAtMs = 0, answeredAtMs = 40): CommitCall => ({
  sentAtMs: 1_700_000_000_000 + sentAtMs,
  answeredAtMs: 1_700_000_000_000 + answeredAtMs,
  timeline: events.map(([ms, kind]) => ({ at: at(ms), kind })),
});

describe('commit call stages', () => {
  it('cuts the call at the first PREPARE sent, the last VOTE and the DECISION', () => {
    const stages = commitStages(
      call([
        [-20, 'BEGIN'],
        [6, 'PREPARE_SENT'],
        [6, 'PREPARING'],
        [7, 'PREPARE_SENT'],
        [15, 'VOTE'],
        [21, 'VOTE'],
        [22, 'DECISION'],
        [30, 'DECISION_SENT'],
        [45, 'ACK'],
      ]),
    );
    expect(stages).toEqual({
      'request → PREPARE sent': 6,
      'PREPARE sent → last VOTE': 15,
      'last VOTE → DECISION proposed': 1,
      'DECISION proposed → answer received': 18,
    });
  });

  it('skips a timeline without the events a stage needs, and counts only the usable ones', () => {
    const complete = call([
      [1, 'PREPARING'],
      [3, 'PREPARE_SENT'],
      [9, 'VOTE'],
      [9, 'DECISION'],
    ]);
    const noVote = call([
      [1, 'PREPARING'],
      [3, 'PREPARE_SENT'],
      [9, 'DECISION'],
    ]);
    expect(commitStages(noVote)).toBeNull();
    const summary = summarizeStages([complete, noVote, complete]);
    expect(summary.samples).toBe(2);
    expect(summary['PREPARE sent → last VOTE']?.p50Ms).toBe(6);
    expect(summary['DECISION proposed → answer received']?.p50Ms).toBe(31);
  });
});
