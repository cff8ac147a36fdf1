import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { measureFsyncFloor } from './fsync-floor';
import { measureRaftThroughput } from './raft-throughput';

describe('raft throughput benchmark', () => {
  let directory: string;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'verdict-raft-throughput-'));
  });

  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('commits every proposal and reports its rate against the fsync floor', async () => {
    const [floor] = measureFsyncFloor({ directory, batchRecords: [256], durationMsPerBatch: 200 });
    const result = await measureRaftThroughput({
      directory,
      entries: 4000,
      entryBytes: 256,
      proposalsInFlight: 2048,
    });
    const entriesPerWrite = Object.entries(result.logWrites)
      .map(([nodeId, stats]) => `${nodeId} ${(stats.entries / Math.max(stats.writes, 1)).toFixed(0)}`)
      .join(', ');
    console.log(
      `raft (3 nodes, one process, TCP, segmented logs): ${Math.round(result.entriesPerSecond)} entries/s of 256 B, ` +
        `${(result.entriesPerSecond / (floor?.recordsPerSecond ?? 1)).toFixed(2)}x the fsync floor at 256 records/fdatasync; ` +
        `${result.cpuMicrosPerEntry.toFixed(1)} us CPU/entry; entries per log write: ${entriesPerWrite}`,
    );
    expect(result.entriesPerSecond).toBeGreaterThan(0);
    for (const stats of Object.values(result.logWrites)) expect(stats.entries).toBeGreaterThanOrEqual(4000);
  }, 60_000);
});
