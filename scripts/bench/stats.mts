// Pure arithmetic of the benchmark: percentiles of latency samples, the per-100 ms timeline of a
// failover run and what that timeline says (the dip, when full rate is back). No I/O, no clock:
// scripts/bench/stats.spec.ts tests it.

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

/**
 * Nearest-rank percentile of an ascending sample: the smallest value with at least `quantile` of
 * the sample at or below it. No interpolation: every reported latency was really observed.
 */
export function percentile(sorted: readonly number[], quantile: number): number {
  if (sorted.length === 0) throw new Error('percentile of an empty sample');
  if (!(quantile > 0 && quantile <= 1)) throw new Error(`quantile ${quantile} is not in (0, 1]`);
  const rank = Math.ceil(quantile * sorted.length);
  return sorted[Math.min(sorted.length, rank) - 1] as number;
}

/** null for an empty sample: a level where nothing completed has no latency to report. */
export function summarize(latenciesMs: readonly number[]): LatencySummary | null {
  if (latenciesMs.length === 0) return null;
  const sorted = [...latenciesMs].sort((left, right) => left - right);
  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 0.5),
    p95Ms: percentile(sorted, 0.95),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted[sorted.length - 1] as number,
    meanMs: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
  };
}

/** Each reason once, as "<times>x <reason>", the most frequent first; at most `limit` of them. */
export function countReasons(reasons: readonly string[], limit = Number.POSITIVE_INFINITY): string[] {
  const counts = new Map<string, number>();
  for (const reason of reasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return [...counts]
    .sort((left, right) => right[1] - left[1])
    .slice(0, limit)
    .map(([reason, times]) => `${times}x ${reason}`);
}

/** One finished transaction as the failover timeline sees it. */
export interface Completion {
  /** When the client got its last answer, in ms since the run started. */
  readonly endedMs: number;
  /** Begin to last answer. */
  readonly latencyMs: number;
  readonly outcome: 'COMMIT' | 'ABORT' | 'FAILED';
}

export interface TimelineBucket {
  readonly startMs: number;
  readonly committed: number;
  readonly aborted: number;
  readonly failed: number;
  /** committed scaled to a second. */
  readonly committedPerSecond: number;
  /** Of the transactions that ended in this bucket, any outcome; null when none ended. */
  readonly p99Ms: number | null;
}

/**
 * Transactions by the bucket they ended in: [fromMs, toMs) cut into `bucketMs` slices, the last
 * one possibly shorter (its rate is scaled to its real length). A completion outside the range is
 * left out.
 */
export function bucketTimeline(
  completions: readonly Completion[],
  bucketMs: number,
  fromMs: number,
  toMs: number,
): TimelineBucket[] {
  if (!(bucketMs > 0)) throw new Error(`bucket of ${bucketMs} ms`);
  if (!(toMs > fromMs)) throw new Error(`empty range [${fromMs}, ${toMs})`);
  const count = Math.ceil((toMs - fromMs) / bucketMs);
  const latencies: number[][] = Array.from({ length: count }, () => []);
  const tally = Array.from({ length: count }, () => ({ committed: 0, aborted: 0, failed: 0 }));
  for (const completion of completions) {
    if (completion.endedMs < fromMs || completion.endedMs >= toMs) continue;
    const index = Math.floor((completion.endedMs - fromMs) / bucketMs);
    const counts = tally[index];
    if (counts === undefined) continue;
    if (completion.outcome === 'COMMIT') counts.committed += 1;
    else if (completion.outcome === 'ABORT') counts.aborted += 1;
    else counts.failed += 1;
    latencies[index]?.push(completion.latencyMs);
  }
  return tally.map((counts, index) => {
    const startMs = fromMs + index * bucketMs;
    const lengthMs = Math.min(bucketMs, toMs - startMs);
    const sorted = (latencies[index] ?? []).sort((left, right) => left - right);
    return {
      startMs,
      ...counts,
      committedPerSecond: (counts.committed * 1000) / lengthMs,
      p99Ms: sorted.length === 0 ? null : percentile(sorted, 0.99),
    };
  });
}

export interface FailoverShape {
  /** Committed/s before the kill, averaged over the buckets from `steadyFromMs`. */
  readonly baselinePerSecond: number;
  /** Lowest committed/s over any `windowMs` after the kill. */
  readonly dipPerSecond: number;
  /** From the kill until a `windowMs` window again reaches `fullShare` of the baseline; null: never. */
  readonly backToFullRateMs: number | null;
  /** Longest run of buckets after the kill in which nothing committed. */
  readonly longestStallMs: number;
}

/**
 * Reads a timeline around a kill at `killMs`. Rates are judged over a sliding window of whole
 * buckets (`windowMs`, e.g. 1 s) so that one unlucky 100 ms slice neither counts as the dip nor
 * as recovery.
 */
export function failoverShape(
  buckets: readonly TimelineBucket[],
  options: {
    readonly killMs: number;
    readonly steadyFromMs: number;
    readonly windowMs: number;
    readonly fullShare: number;
  },
): FailoverShape {
  const bucketMs = bucketWidth(buckets);
  const before = buckets.filter(
    (bucket) => bucket.startMs >= options.steadyFromMs && bucket.startMs + bucketMs <= options.killMs,
  );
  if (before.length === 0) throw new Error('no complete bucket between the steady start and the kill');
  const baselinePerSecond =
    before.reduce((sum, bucket) => sum + bucket.committedPerSecond, 0) / before.length;
  const after = buckets.filter((bucket) => bucket.startMs >= options.killMs);
  const width = Math.max(1, Math.round(options.windowMs / bucketMs));
  let dipPerSecond = Number.POSITIVE_INFINITY;
  let backToFullRateMs: number | null = null;
  for (let start = 0; start + width <= after.length; start += 1) {
    const window = after.slice(start, start + width);
    const rate = window.reduce((sum, bucket) => sum + bucket.committedPerSecond, 0) / width;
    dipPerSecond = Math.min(dipPerSecond, rate);
    const first = window[0];
    // Recovery counts only once the rate had dropped: the first windows right after the kill
    // still hold transactions the old leader finished.
    if (
      backToFullRateMs === null &&
      first !== undefined &&
      dipPerSecond < options.fullShare * baselinePerSecond &&
      rate >= options.fullShare * baselinePerSecond
    ) {
      backToFullRateMs = first.startMs - options.killMs;
    }
  }
  // Never below full rate: nothing to recover from.
  if (backToFullRateMs === null && dipPerSecond >= options.fullShare * baselinePerSecond)
    backToFullRateMs = 0;
  let longestStallMs = 0;
  let stallMs = 0;
  for (const bucket of after) {
    stallMs = bucket.committed === 0 ? stallMs + bucketMs : 0;
    longestStallMs = Math.max(longestStallMs, stallMs);
  }
  return {
    baselinePerSecond,
    dipPerSecond: Number.isFinite(dipPerSecond) ? dipPerSecond : 0,
    backToFullRateMs,
    longestStallMs,
  };
}

function bucketWidth(buckets: readonly TimelineBucket[]): number {
  const [first, second] = buckets;
  if (first === undefined || second === undefined) throw new Error('a timeline needs two buckets');
  return second.startMs - first.startMs;
}
