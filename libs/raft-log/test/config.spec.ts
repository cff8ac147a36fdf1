import { describe, expect, it } from 'vitest';
import { validateConfig, type RaftConfigInput } from '../src/core/config';
import { Xoshiro128 } from '../src/core/rng';

const base: RaftConfigInput = { nodeId: 'n1', rng: new Xoshiro128(1) };

describe('validateConfig', () => {
  it('fills defaults: PreVote and CheckQuorum on', () => {
    const config = validateConfig(base);
    expect(config.preVote).toBe(true);
    expect(config.checkQuorum).toBe(true);
    expect(config.heartbeatTicks * 2).toBeLessThan(config.electionTicks);
  });

  it.each<[Partial<RaftConfigInput>, RegExp]>([
    [{ nodeId: '' }, /nodeId = "": must be a non-empty string/],
    [{ electionTicks: 2 }, /electionTicks = 2: must be an integer in \[3, 10000\]/],
    [{ electionTicks: 10, heartbeatTicks: 5 }, /heartbeatTicks = 5: must be below electionTicks \/ 2 = 5/],
    [{ appendEntriesMax: 0 }, /appendEntriesMax = 0/],
    [{ appendBytesMax: 1.5 }, /appendBytesMax = 1.5: must be an integer/],
    [{ inflightMessagesMax: 100_000 }, /inflightMessagesMax = 100000: must be an integer in \[1, 256\]/],
    [{ snapshotChunkBytes: -1 }, /snapshotChunkBytes = -1/],
    [{ uncommittedEntriesMax: 0 }, /uncommittedEntriesMax = 0/],
  ])('rejects %j naming the field', (override, message) => {
    expect(() => validateConfig({ ...base, ...override })).toThrow(message);
  });
});

describe('Xoshiro128', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const draw = (seed: number): number[] => {
      const rng = new Xoshiro128(seed);
      return Array.from({ length: 5 }, () => rng.nextUint32());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
  });

  it('nextInt stays in [0, bound) and covers it', () => {
    const rng = new Xoshiro128(0);
    const seen = new Set<number>();
    for (let draw = 0; draw < 1000; draw += 1) {
      const value = rng.nextInt(10);
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(10);
      seen.add(value);
    }
    expect(seen.size).toBe(10);
  });
});
