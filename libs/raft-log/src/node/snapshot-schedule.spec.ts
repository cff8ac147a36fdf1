import { describe, expect, it } from 'vitest';
import { snapshotDue, snapshotOffset } from './snapshot-schedule';

const membership = { voters: ['n3', 'n1', 'n2'], learners: [] };

/** The indices at which a node applying `batch` entries at a time snapshots, up to `last`. */
function snapshotsOf(offset: number, every: number, batch: number, last: number): number[] {
  const taken: number[] = [];
  let snapshotIndex = 0;
  for (let applied = batch; applied <= last; applied += batch) {
    if (snapshotDue(applied, snapshotIndex, every, offset)) {
      taken.push(applied);
      snapshotIndex = applied;
    }
  }
  return taken;
}

describe('snapshot schedule', () => {
  it('spreads the members evenly over the interval, by sorted node id', () => {
    expect(['n1', 'n2', 'n3'].map((nodeId) => snapshotOffset(nodeId, membership, 9_000))).toEqual([
      0, 3_000, 6_000,
    ]);
    expect(snapshotOffset('n4', membership, 9_000)).toBe(0);
    expect(snapshotOffset('n2', { voters: ['n1'], learners: ['n2'] }, 10)).toBe(5);
  });

  it('snapshots each node once per interval, never two of three at the same index', () => {
    const every = 100;
    const taken = ['n1', 'n2', 'n3'].map((nodeId) =>
      snapshotsOf(snapshotOffset(nodeId, membership, every), every, 7, 1_000),
    );
    for (const indices of taken) {
      expect(indices.length).toBeGreaterThanOrEqual(9);
      for (let position = 1; position < indices.length; position += 1) {
        const gap = (indices[position] ?? 0) - (indices[position - 1] ?? 0);
        expect(gap).toBeGreaterThan(every - 7);
        expect(gap).toBeLessThan(every + 7);
      }
    }
    const all = taken.flat();
    expect(new Set(all).size).toBe(all.length);
  });

  it('is never due without a new entry, and always due a whole interval on', () => {
    for (const offset of [0, 1, 33, 99]) {
      expect(snapshotDue(500, 500, 100, offset)).toBe(false);
      expect(snapshotDue(600, 500, 100, offset)).toBe(true);
    }
  });
});
