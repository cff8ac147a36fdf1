// Two floors of `npm run bench`, measured with the code paths of `npm run bench:raft`: one
// fdatasync of a 256-byte record (libs/raft-log/bench/fsync-floor.ts) in the directory given, and
// the commit of one entry at a time on a 3-process raft-log cluster with fsynced logs
// (libs/raft-log/test/process). Runs under libs/raft-log/sim-loader.mjs, like bench:raft:
//   node --import ./libs/raft-log/sim-loader.mjs scripts/bench/raft-floor.ts <directory> <ms>
// and prints one JSON line (RaftFloors) on stdout.
import { measureFsyncFloor } from '../../libs/raft-log/bench/fsync-floor';
import { ProcessCluster } from '../../libs/raft-log/test/process/process-cluster';

/** The size of a coordinator's typical group-committed entry at low load. */
const ENTRY_BYTES = 256;

export interface RaftFloors {
  readonly fsync: {
    readonly fsyncsPerSecond: number;
    readonly latencyMsP50: number;
    readonly latencyMsP99: number;
  };
  readonly raftCommit: {
    readonly commitsPerSecond: number;
    readonly latencyMsP50: number;
    readonly latencyMsP99: number;
  };
}

async function main(): Promise<void> {
  const [directory, durationText] = process.argv.slice(2);
  const durationMs = Number(durationText);
  if (directory === undefined || !Number.isInteger(durationMs) || durationMs < 100) {
    throw new Error('usage: raft-floor.ts <directory> <duration ms, at least 100>');
  }
  const [fsync] = measureFsyncFloor({
    directory,
    batchRecords: [1],
    recordBytes: ENTRY_BYTES,
    durationMsPerBatch: durationMs,
  });
  if (fsync === undefined) throw new Error('the fsync floor returned nothing');
  // The coordinator's Raft tick (cluster-settings.ts): elections and heartbeats as in production.
  const cluster = await ProcessCluster.create({ tickIntervalMs: 50 });
  try {
    const nodeIds = ['n1', 'n2', 'n3'];
    await cluster.define(nodeIds);
    await Promise.all(nodeIds.map((nodeId) => cluster.start(nodeId, nodeIds)));
    const leader = await cluster.waitForLeader();
    // Warm-up: JIT and the peers' TCP connections.
    await leader.runLoad({ proposers: 1, durationMs: 300, entryBytes: ENTRY_BYTES });
    const load = await leader.runLoad({ proposers: 1, durationMs, entryBytes: ENTRY_BYTES });
    const floors: RaftFloors = {
      fsync: {
        fsyncsPerSecond: fsync.fsyncsPerSecond,
        latencyMsP50: fsync.fsyncLatencyMsP50,
        latencyMsP99: fsync.fsyncLatencyMsP99,
      },
      raftCommit: {
        commitsPerSecond: load.entries / load.seconds,
        latencyMsP50: load.latencyMsP50,
        latencyMsP99: load.latencyMsP99,
      },
    };
    console.log(JSON.stringify(floors));
  } finally {
    await cluster.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
