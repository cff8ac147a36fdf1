import { describe, expect, it } from 'vitest';
import {
  bucketTimeline,
  countReasons,
  failoverShape,
  percentile,
  summarize,
  type Completion,
} from './stats.mjs';

describe('reasons', () => {
  it('are counted once each, the most frequent first, up to the limit', () => {
    const reasons = ['HTTP 503', 'timeout', 'HTTP 503', 'reset', 'HTTP 503', 'timeout'];
    expect(countReasons(reasons)).toEqual(['3x HTTP 503', '2x timeout', '1x reset']);
    expect(countReasons(reasons, 2)).toEqual(['3x HTTP 503', '2x timeout']);
    expect(countReasons([])).toEqual([]);
  });
});

describe('percentiles', () => {
  it('are nearest-rank: always a value that was observed', () => {
    const sample = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(sample, 0.5)).toBe(5);
    expect(percentile(sample, 0.95)).toBe(10);
    expect(percentile(sample, 0.1)).toBe(1);
    expect(percentile(sample, 1)).toBe(10);
    expect(percentile([42], 0.99)).toBe(42);
  });

  it('of 1..1000: p99 is the 990th value, not an interpolation', () => {
    const sample = Array.from({ length: 1000 }, (_, index) => index + 1);
    expect(percentile(sample, 0.99)).toBe(990);
    expect(percentile(sample, 0.999)).toBe(999);
  });

  it('refuse an empty sample and a quantile outside (0, 1]', () => {
    expect(() => percentile([], 0.5)).toThrow(/empty/);
    expect(() => percentile([1], 0)).toThrow(/not in/);
    expect(() => percentile([1], 1.5)).toThrow(/not in/);
  });

  it('summarize sorts an unsorted sample and reports max and mean; nothing for no sample', () => {
    expect(summarize([30, 10, 20, 40])).toEqual({
      count: 4,
      p50Ms: 20,
      p95Ms: 40,
      p99Ms: 40,
      maxMs: 40,
      meanMs: 25,
    });
    expect(summarize([])).toBeNull();
  });
});

const commit = (endedMs: number, latencyMs = 5): Completion => ({ endedMs, latencyMs, outcome: 'COMMIT' });

describe('the per-100 ms timeline', () => {
  it('puts each transaction in the bucket it ended in and scales counts to a second', () => {
    const buckets = bucketTimeline(
      [commit(0), commit(99), commit(100), { endedMs: 150, latencyMs: 900, outcome: 'FAILED' }, commit(250)],
      100,
      0,
      300,
    );
    expect(buckets.map((bucket) => bucket.startMs)).toEqual([0, 100, 200]);
    expect(buckets.map((bucket) => bucket.committed)).toEqual([2, 1, 1]);
    expect(buckets.map((bucket) => bucket.committedPerSecond)).toEqual([20, 10, 10]);
    expect(buckets[1]?.failed).toBe(1);
    // p99 covers every transaction that ended there, failed ones too: a failover shows in it.
    expect(buckets[1]?.p99Ms).toBe(900);
  });

  it('leaves out what ended outside the range, and has no p99 where nothing ended', () => {
    const buckets = bucketTimeline([commit(-1), commit(300), commit(50)], 100, 0, 300);
    expect(buckets.map((bucket) => bucket.committed)).toEqual([1, 0, 0]);
    expect(buckets[2]?.p99Ms).toBeNull();
  });

  it('scales a shorter last bucket by its own length', () => {
    const buckets = bucketTimeline([commit(260)], 100, 0, 270);
    expect(buckets).toHaveLength(3);
    expect(buckets[2]?.committedPerSecond).toBeCloseTo(1000 / 70);
  });

  it('refuses an empty range or bucket', () => {
    expect(() => bucketTimeline([], 0, 0, 100)).toThrow(/bucket/);
    expect(() => bucketTimeline([], 100, 100, 100)).toThrow(/empty range/);
  });
});

/** A timeline at `rate` per second with nothing committed in [stallFrom, stallTo). */
function timeline(
  rate: number,
  totalMs: number,
  stallFrom: number,
  stallTo: number,
  slowTo = stallTo,
): Completion[] {
  const completions: Completion[] = [];
  for (let at = 0; at < totalMs; at += 1000 / rate) {
    if (at >= stallFrom && at < stallTo) continue;
    // Between the stall and slowTo the system runs at half rate.
    if (at >= stallTo && at < slowTo && Math.round(at / (1000 / rate)) % 2 === 1) continue;
    completions.push(commit(at));
  }
  return completions;
}

describe('reading a failover', () => {
  const options = { killMs: 5_000, steadyFromMs: 1_000, windowMs: 1_000, fullShare: 0.9 };

  it('finds the baseline, the dip, the stall and when full rate is back', () => {
    const buckets = bucketTimeline(timeline(100, 20_000, 5_000, 6_000, 8_000), 100, 0, 20_000);
    const shape = failoverShape(buckets, options);
    expect(shape.baselinePerSecond).toBeCloseTo(100);
    expect(shape.dipPerSecond).toBe(0);
    expect(shape.longestStallMs).toBe(1_000);
    // Half rate until 8 s: the window 7.8-8.8 s averages 0.2 x 50 + 0.8 x 100 = 90 tx/s, the
    // first to reach 90% again, 2.8 s after the kill.
    expect(shape.backToFullRateMs).toBe(2_800);
  });

  it('reports 0 ms to full rate when the rate never dropped', () => {
    const buckets = bucketTimeline(timeline(100, 10_000, 99_000, 99_000), 100, 0, 10_000);
    const shape = failoverShape(buckets, options);
    expect(shape.backToFullRateMs).toBe(0);
    expect(shape.longestStallMs).toBe(0);
  });

  it('reports never when the rate did not come back', () => {
    const buckets = bucketTimeline(timeline(100, 10_000, 5_000, 10_000), 100, 0, 10_000);
    expect(failoverShape(buckets, options).backToFullRateMs).toBeNull();
  });

  it('needs a steady stretch before the kill', () => {
    const buckets = bucketTimeline(timeline(100, 10_000, 0, 0), 100, 0, 10_000);
    expect(() => failoverShape(buckets, { ...options, killMs: 1_000 })).toThrow(/no complete bucket/);
  });
});
