// `npm run bench:raft [-- --cpu-prof] [--duration-ms N] [--loads 1,8,64]`: three raft-process.ts
// children (the deployment shape: one node per process) over loopback TCP with fsynced segment
// logs. At each load level, N proposers inside the leader's process each keep one 256-byte
// proposal in flight. Right before each level the disk's own limit is measured at the same batch
// size (N records per fdatasync is the best N concurrent proposers can get), so the ratio stays
// meaningful on a shared, noisy machine. Writes bench/results/raft.json; `--cpu-prof` leaves one
// .cpuprofile per node in bench/results (git-ignored).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ProcessCluster, type ProcessNode } from '../test/process/process-cluster';
import type { LogWriteStats } from '../test/process/raft-process';
import { measureFsyncFloor } from './fsync-floor';

const ENTRY_BYTES = 256;
const RESULTS_DIRECTORY = join(process.cwd(), 'bench', 'results');

interface LevelResult {
  readonly proposers: number;
  readonly entriesPerSecond: number;
  readonly commitLatencyMsP50: number;
  readonly commitLatencyMsP99: number;
  /** Entries per fdatasync on the leader, and averaged over the followers. */
  readonly leaderEntriesPerFsync: number;
  readonly followerEntriesPerFsync: number;
  /** Entries per Ready write on the leader: how many proposals one Raft batch carried. */
  readonly leaderEntriesPerWrite: number;
  readonly failedProposals: number;
  readonly fsyncFloorRecordsPerSecond: number;
  readonly fsyncFloorLatencyMsP50: number;
  /** entriesPerSecond / fsyncFloorRecordsPerSecond at the same batch size. */
  readonly ratioToFsyncFloor: number;
}

function delta(after: LogWriteStats, before: LogWriteStats): LogWriteStats {
  return {
    writes: after.writes - before.writes,
    entries: after.entries - before.entries,
    batches: after.batches - before.batches,
    datasyncs: after.datasyncs - before.datasyncs,
  };
}

const perFsync = (stats: LogWriteStats): number => stats.entries / Math.max(stats.datasyncs, 1);

async function runLevel(
  cluster: ProcessCluster,
  leader: ProcessNode,
  proposers: number,
  durationMs: number,
): Promise<LevelResult> {
  const [floor] = measureFsyncFloor({
    directory: cluster.directory,
    batchRecords: [proposers],
    recordBytes: ENTRY_BYTES,
    durationMsPerBatch: Math.min(durationMs, 1000),
  });
  if (floor === undefined) throw new Error('the fsync floor returned no result');
  const nodes = [...cluster.nodes.values()];
  const before = await Promise.all(nodes.map((node) => node.stats()));
  const load = await leader.runLoad({ proposers, durationMs, entryBytes: ENTRY_BYTES });
  const after = await Promise.all(nodes.map((node) => node.stats()));
  const deltas = nodes.map((node, position) => {
    const [start, end] = [before[position], after[position]];
    if (start === undefined || end === undefined) throw new Error(`no stats from ${node.nodeId}`);
    return { nodeId: node.nodeId, stats: delta(end, start) };
  });
  const leaderStats = deltas.find((entry) => entry.nodeId === leader.nodeId)?.stats;
  if (leaderStats === undefined) throw new Error('no stats from the leader');
  const followers = deltas.filter((entry) => entry.nodeId !== leader.nodeId);
  const entriesPerSecond = load.entries / load.seconds;
  return {
    proposers,
    entriesPerSecond,
    commitLatencyMsP50: load.latencyMsP50,
    commitLatencyMsP99: load.latencyMsP99,
    leaderEntriesPerFsync: perFsync(leaderStats),
    followerEntriesPerFsync:
      followers.reduce((sum, entry) => sum + perFsync(entry.stats), 0) / Math.max(followers.length, 1),
    leaderEntriesPerWrite: leaderStats.entries / Math.max(leaderStats.writes, 1),
    failedProposals: load.failures,
    fsyncFloorRecordsPerSecond: floor.recordsPerSecond,
    fsyncFloorLatencyMsP50: floor.fsyncLatencyMsP50,
    ratioToFsyncFloor: entriesPerSecond / floor.recordsPerSecond,
  };
}

function formatLevel(level: LevelResult): string {
  return (
    `${String(level.proposers).padStart(5)} proposers: ${String(Math.round(level.entriesPerSecond)).padStart(6)} entries/s, ` +
    `commit p50 ${level.commitLatencyMsP50.toFixed(2)} ms, p99 ${level.commitLatencyMsP99.toFixed(2)} ms, ` +
    `entries/fsync leader ${level.leaderEntriesPerFsync.toFixed(1)} followers ${level.followerEntriesPerFsync.toFixed(1)}, ` +
    `entries/write ${level.leaderEntriesPerWrite.toFixed(1)}; fsync floor at ${level.proposers}/fsync ` +
    `${Math.round(level.fsyncFloorRecordsPerSecond)} records/s (p50 ${level.fsyncFloorLatencyMsP50.toFixed(2)} ms): ` +
    `ratio ${level.ratioToFsyncFloor.toFixed(3)}` +
    (level.failedProposals > 0 ? ` (${level.failedProposals} proposals refused)` : '')
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'cpu-prof': { type: 'boolean', default: false },
      'duration-ms': { type: 'string', default: '3000' },
      loads: { type: 'string', default: '1,8,64,256,1024' },
    },
  });
  const durationMs = Number(values['duration-ms']);
  const loads = values.loads.split(',').map(Number);
  if (!Number.isInteger(durationMs) || durationMs < 100)
    throw new Error('--duration-ms must be an integer >= 100');
  if (loads.some((load) => !Number.isInteger(load) || load < 1))
    throw new Error('--loads must be positive integers');
  await mkdir(RESULTS_DIRECTORY, { recursive: true });

  const cluster = await ProcessCluster.create({
    tickIntervalMs: 50,
    nodeArgs: values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', RESULTS_DIRECTORY] : [],
  });
  // Children are killed on any failure (and on Ctrl-C) so no node outlives the benchmark.
  const abort = (): void => void cluster.destroy().finally(() => process.exit(130));
  process.once('SIGINT', abort);
  try {
    const nodeIds = ['n1', 'n2', 'n3'];
    await cluster.define(nodeIds);
    await Promise.all(nodeIds.map((nodeId) => cluster.start(nodeId, nodeIds)));
    const leader = await cluster.waitForLeader();
    console.log(
      `3 processes, leader ${leader.nodeId}, ${ENTRY_BYTES}-byte entries, fsync on, ${durationMs} ms per level`,
    );
    // Warm-up: JIT and TCP connections, not measured.
    await leader.runLoad({ proposers: 64, durationMs: 500, entryBytes: ENTRY_BYTES });

    const levels: LevelResult[] = [];
    for (const proposers of loads) {
      const level = await runLevel(cluster, leader, proposers, durationMs);
      levels.push(level);
      console.log(formatLevel(level));
    }
    for (const nodeId of nodeIds) await cluster.stop(nodeId); // graceful, so --cpu-prof files get written

    const best = levels.reduce((left, right) =>
      right.entriesPerSecond > left.entriesPerSecond ? right : left,
    );
    await writeFile(
      join(RESULTS_DIRECTORY, 'raft.json'),
      `${JSON.stringify(
        {
          benchmark: 'raft-log: 3 processes, loopback TCP, fsynced segment logs',
          measuredAt: new Date().toISOString(),
          node: process.version,
          entryBytes: ENTRY_BYTES,
          durationMsPerLevel: durationMs,
          levels,
        },
        null,
        2,
      )}\n`,
    );
    console.log(
      `raft: ${Math.round(best.entriesPerSecond)} entries/s, p99 ${best.commitLatencyMsP99.toFixed(1)} ms at ` +
        `${best.proposers} proposers, ${best.ratioToFsyncFloor.toFixed(2)} of the fsync limit`,
    );
  } finally {
    process.removeListener('SIGINT', abort);
    await cluster.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
