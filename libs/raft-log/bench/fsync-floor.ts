import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { assert } from '../src/core/assert';

// The disk's floor: the fastest a bare append loop with fdatasync can go on this machine, with no
// Raft, no encoding, no event loop in between. Raft benchmarks print their throughput as a ratio
// to it, so numbers from different machines (or a loaded one) stay comparable.

export const FSYNC_FLOOR_BATCH_RECORDS = [1, 8, 64, 256] as const;
export const FSYNC_FLOOR_RECORD_BYTES = 256;

export interface FsyncFloorOptions {
  /** Where to write: the same file system as the log being benchmarked. */
  readonly directory: string;
  readonly batchRecords?: readonly number[];
  readonly recordBytes?: number;
  /** Time spent at each batch size. */
  readonly durationMsPerBatch?: number;
}

export interface FsyncFloorResult {
  /** Records appended per fdatasync. */
  readonly batchRecords: number;
  readonly fsyncs: number;
  readonly fsyncsPerSecond: number;
  readonly recordsPerSecond: number;
  readonly fsyncLatencyMsP50: number;
  readonly fsyncLatencyMsP99: number;
}

/**
 * Appends `recordBytes`-byte records with one write and one fdatasync per batch, for each batch
 * size. Synchronous on purpose (a bare loop, no thread pool hop): it blocks the event loop for
 * about `durationMsPerBatch` per batch size.
 */
export function measureFsyncFloor(options: FsyncFloorOptions): FsyncFloorResult[] {
  const batchRecords = options.batchRecords ?? FSYNC_FLOOR_BATCH_RECORDS;
  const recordBytes = options.recordBytes ?? FSYNC_FLOOR_RECORD_BYTES;
  const durationMs = options.durationMsPerBatch ?? 1000;
  assert(recordBytes > 0, `recordBytes ${recordBytes} must be positive`);
  assert(durationMs > 0, `durationMsPerBatch ${durationMs} must be positive`);
  return batchRecords.map((records) => {
    assert(Number.isInteger(records) && records >= 1, `batch of ${records} records`);
    const path = join(options.directory, `fsync-floor-${records}.bin`);
    const batch = Buffer.alloc(records * recordBytes, 0xab);
    const latenciesMs: number[] = [];
    const fd = openSync(path, 'w');
    try {
      const started = performance.now();
      let now = started;
      while (now - started < durationMs) {
        writeSync(fd, batch);
        const beforeSync = performance.now();
        fdatasyncSync(fd);
        now = performance.now();
        latenciesMs.push(now - beforeSync);
      }
      const seconds = (now - started) / 1000;
      latenciesMs.sort((left, right) => left - right);
      return {
        batchRecords: records,
        fsyncs: latenciesMs.length,
        fsyncsPerSecond: latenciesMs.length / seconds,
        recordsPerSecond: (latenciesMs.length * records) / seconds,
        fsyncLatencyMsP50: percentile(latenciesMs, 0.5),
        fsyncLatencyMsP99: percentile(latenciesMs, 0.99),
      };
    } finally {
      closeSync(fd);
      rmSync(path, { force: true });
    }
  });
}

/** One line per batch size, for benchmark output. */
export function formatFsyncFloor(results: readonly FsyncFloorResult[]): string {
  return results
    .map(
      (result) =>
        `fsync floor, ${String(result.batchRecords).padStart(3)} records/fdatasync: ` +
        `${Math.round(result.fsyncsPerSecond)} fdatasyncs/s, ${Math.round(result.recordsPerSecond)} records/s, ` +
        `p50 ${result.fsyncLatencyMsP50.toFixed(3)} ms, p99 ${result.fsyncLatencyMsP99.toFixed(3)} ms`,
    )
    .join('\n');
}

function percentile(sorted: readonly number[], quantile: number): number {
  const value = sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))];
  assert(value !== undefined, 'percentile of an empty sample');
  return value;
}
