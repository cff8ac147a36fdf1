import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatFsyncFloor, measureFsyncFloor } from './fsync-floor';
import { measureGroupCommit } from './group-commit';

describe('disk benchmarks', () => {
  let directory: string;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'verdict-fsync-floor-'));
  });

  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('fsync floor: sane numbers at every batch size, and no files left behind', async () => {
    const results = measureFsyncFloor({ directory, durationMsPerBatch: 150 });
    console.log(formatFsyncFloor(results));
    expect(results.map((result) => result.batchRecords)).toEqual([1, 8, 64, 256]);
    for (const result of results) {
      expect(result.fsyncs).toBeGreaterThan(0);
      expect(result.recordsPerSecond).toBeCloseTo(result.fsyncsPerSecond * result.batchRecords, 6);
      expect(result.fsyncLatencyMsP50).toBeGreaterThan(0);
      expect(result.fsyncLatencyMsP99).toBeGreaterThanOrEqual(result.fsyncLatencyMsP50);
      // An fdatasync cannot take longer than the whole measurement.
      expect(result.fsyncLatencyMsP99).toBeLessThan(150 + 1000);
    }
    expect(await readdir(directory)).toEqual([]);
  });

  it('group commit: 64 concurrent writers share fdatasyncs', async () => {
    const result = await measureGroupCommit({
      directory: join(directory, 'log'),
      writers: 64,
      writesPerWriter: 40,
      entryBytes: 256,
    });
    console.log(
      `group commit: ${result.writes} synced writes, ${result.datasyncs} fdatasyncs ` +
        `(${(result.writes / result.datasyncs).toFixed(1)} writes each): ${Math.round(result.writesPerSecond)} writes/s`,
    );
    expect(result.datasyncs).toBeLessThan(result.writes / 8);
  });
});
