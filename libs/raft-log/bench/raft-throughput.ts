import { join } from 'node:path';
import type { NodeId } from '../src/core/types';
import { Xoshiro128 } from '../src/core/rng';
import type { Entry, HardState } from '../src/core/types';
import { RaftNode } from '../src/node/raft-node';
import type { LoadedLog, LogStore, WriteOptions } from '../src/storage/log-store';
import { SegmentedLogStore } from '../src/storage/segmented-log-store';
import { FileSnapshotStore } from '../src/storage/snapshot-store';
import { silentLogger } from '../src/support/logger';
import { TcpTransport } from '../src/transport/tcp-transport';

export interface RaftThroughputOptions {
  /** An empty or missing directory; each node's log and snapshots go below it. */
  readonly directory: string;
  readonly entries: number;
  readonly entryBytes: number;
  /** Proposals the client keeps outstanding (a closed loop). */
  readonly proposalsInFlight: number;
}

export interface LogWriteStats {
  writes: number;
  entries: number;
  writeMsTotal: number;
  writeMsMax: number;
}

export interface RaftThroughputResult {
  /** Proposals resolved (committed and applied on the leader) per second. */
  readonly entriesPerSecond: number;
  /** CPU of the whole process (all three nodes) per entry. */
  readonly cpuMicrosPerEntry: number;
  /** Per node: how many Ready writes it took, and how long write + fdatasync took. */
  readonly logWrites: Readonly<Record<NodeId, LogWriteStats>>;
}

const NODE_IDS = ['n1', 'n2', 'n3'];

/** Times each write (append + fdatasync): shows whether a run was bound by the disk. */
class TimedLogStore implements LogStore {
  readonly stats: LogWriteStats = { writes: 0, entries: 0, writeMsTotal: 0, writeMsMax: 0 };

  constructor(private readonly inner: LogStore) {}

  async write(entries: readonly Entry[], hardState: HardState | null, options: WriteOptions): Promise<void> {
    const started = performance.now();
    await this.inner.write(entries, hardState, options);
    const elapsedMs = performance.now() - started;
    this.stats.writes += 1;
    this.stats.entries += entries.length;
    this.stats.writeMsTotal += elapsedMs;
    this.stats.writeMsMax = Math.max(this.stats.writeMsMax, elapsedMs);
  }

  truncateSuffix(fromIndex: number): Promise<void> {
    return this.inner.truncateSuffix(fromIndex);
  }

  compactPrefix(throughIndex: number): Promise<void> {
    return this.inner.compactPrefix(throughIndex);
  }

  load(): Promise<LoadedLog> {
    return this.inner.load();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * Three RaftNodes in this process over loopback TCP with segmented logs, one client proposing
 * `entryBytes`-byte commands to the leader. All three nodes share one thread here, so this is a
 * floor for what three processes reach; print it as a ratio to the fsync floor.
 */
export async function measureRaftThroughput(options: RaftThroughputOptions): Promise<RaftThroughputResult> {
  const secret = new TextEncoder().encode('raft throughput benchmark secret');
  const transports = await Promise.all(
    NODE_IDS.map((nodeId) =>
      TcpTransport.start({
        nodeId,
        listenHost: '127.0.0.1',
        listenPort: 0,
        peers: {},
        clusterSecret: secret,
        logger: silentLogger,
      }),
    ),
  );
  const peers = Object.fromEntries(
    transports.map((transport, position) => [
      NODE_IDS[position] ?? '',
      `127.0.0.1:${transport.address().port}`,
    ]),
  );
  const logWrites: Record<NodeId, LogWriteStats> = {};
  const nodes = await Promise.all(
    transports.map((transport, position) => {
      const nodeId = NODE_IDS[position] ?? '';
      transport.setPeers(peers);
      const logStore = new TimedLogStore(
        new SegmentedLogStore({
          directory: join(options.directory, nodeId, 'log'),
          nodeId,
          clusterId: 'bench',
          logger: silentLogger,
        }),
      );
      logWrites[nodeId] = logStore.stats;
      return RaftNode.start({
        raft: { nodeId, rng: new Xoshiro128(position + 1), appendEntriesMax: 256, inflightMessagesMax: 64 },
        bootstrapMembership: { voters: NODE_IDS, learners: [] },
        logStore,
        snapshotStore: new FileSnapshotStore({
          directory: join(options.directory, nodeId, 'snapshots'),
          logger: silentLogger,
        }),
        transport,
        stateMachine: { apply: () => undefined, snapshot: () => new Uint8Array(0), restore: () => undefined },
        logger: silentLogger,
        tickIntervalMs: 50,
        snapshotEveryEntries: Number.MAX_SAFE_INTEGER,
      });
    }),
  );
  try {
    const leader = await waitForLeader(nodes);
    const data = new Uint8Array(options.entryBytes).fill(0xcd);
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    let proposed = 0;
    await new Promise<void>((resolve, reject) => {
      let resolved = 0;
      const pump = (): void => {
        while (proposed < options.entries && proposed - resolved < options.proposalsInFlight) {
          proposed += 1;
          leader.propose(data).then(() => {
            resolved += 1;
            if (resolved === options.entries) resolve();
            else pump();
          }, reject);
        }
      };
      pump();
    });
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStarted);
    return {
      entriesPerSecond: options.entries / seconds,
      cpuMicrosPerEntry: (cpu.user + cpu.system) / options.entries,
      logWrites,
    };
  } finally {
    for (const node of nodes) await node.close();
  }
}

async function waitForLeader(nodes: readonly RaftNode[]): Promise<RaftNode> {
  for (let attempt = 0; attempt < 600; attempt += 1) {
    const leader = nodes.find((node) => node.status().role === 'leader');
    if (leader !== undefined) return leader;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no leader elected within 30 s');
}
