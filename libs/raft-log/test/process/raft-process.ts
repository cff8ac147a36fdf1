// One RaftNode in its own OS process, over real TCP and real files, as a coordinator node runs it.
// Real-process tests and `npm run bench:raft` start three (or more) of these and talk to each
// over stdin/stdout, one JSON object per line: requests in (`ControlRequest`), replies and events
// out (`ControlOutput`). Run it with `node --import libs/raft-log/sim-loader.mjs <this file> '<ProcessConfig JSON>'`.
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import type { MembershipChange } from '../../src/core/membership';
import { Xoshiro128 } from '../../src/core/rng';
import type { Entry, HardState, NodeId, Snapshot } from '../../src/core/types';
import { RaftNode, type RaftStateMachine } from '../../src/node/raft-node';
import type { LoadedLog, LogStore, WriteOptions } from '../../src/storage/log-store';
import { SegmentedLogStore } from '../../src/storage/segmented-log-store';
import { FileSnapshotStore } from '../../src/storage/snapshot-store';
import type { RaftLogLogger } from '../../src/support/logger';
import { TcpTransport } from '../../src/transport/tcp-transport';

export interface ProcessConfig {
  readonly nodeId: NodeId;
  /** Log and snapshots live below it; a restart passes the same directory. */
  readonly directory: string;
  readonly port: number;
  /** Every other member's `host:port`. */
  readonly peers: Readonly<Record<NodeId, string>>;
  /** The founding voters; empty for a node that joins an existing cluster. */
  readonly voters: readonly NodeId[];
  readonly snapshotEveryEntries: number;
  readonly tickIntervalMs: number;
  /** Seeds the election timer, so nodes differ. */
  readonly seed: number;
}

export type ControlRequest =
  | { readonly op: 'propose'; readonly id: number; readonly data: string }
  | { readonly op: 'status'; readonly id: number }
  | { readonly op: 'log'; readonly id: number }
  | { readonly op: 'stats'; readonly id: number }
  | { readonly op: 'membership'; readonly id: number; readonly change: MembershipChange }
  | { readonly op: 'bench'; readonly id: number; readonly load: BenchLoad }
  | { readonly op: 'close'; readonly id: number };

/** A closed loop of `proposers` clients inside the leader's process, each awaiting its commit. */
export interface BenchLoad {
  readonly proposers: number;
  readonly durationMs: number;
  readonly entryBytes: number;
}

export interface BenchLoadResult {
  readonly entries: number;
  readonly seconds: number;
  readonly latencyMsP50: number;
  readonly latencyMsP99: number;
  readonly failures: number;
}

export interface LogWriteStats {
  /** Log writes the node made (one per Ready) and the entries they carried. */
  readonly writes: number;
  readonly entries: number;
  /** What the segmented store turned them into after group commit. */
  readonly batches: number;
  readonly datasyncs: number;
}

export type ControlOutput =
  | { readonly event: 'started'; readonly nodeId: NodeId }
  | { readonly event: 'reply'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly event: 'reply'; readonly id: number; readonly ok: false; readonly error: string }
  | {
      readonly event: 'log';
      readonly level: 'info' | 'warn';
      readonly message: string;
      readonly fields: Readonly<Record<string, unknown>>;
    };

function emit(output: ControlOutput): void {
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

const logger: RaftLogLogger = {
  info: (message, fields = {}) => emit({ event: 'log', level: 'info', message, fields }),
  warn: (message, fields = {}) => emit({ event: 'log', level: 'warn', message, fields }),
};

/** The trivial state machine: the list of applied commands, in log order. */
class AppendOnlyList implements RaftStateMachine {
  // Kept as the entries' own buffers: decoding every entry would put text decoding in the
  // benchmark's hot path, and only tests read the list.
  private items: Uint8Array[] = [];

  apply(entry: Entry): void {
    this.items.push(entry.data);
  }

  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.list()));
  }

  restore(snapshot: Snapshot): void {
    const encoder = new TextEncoder();
    const parsed = JSON.parse(new TextDecoder().decode(snapshot.data)) as string[];
    this.items = parsed.map((item) => encoder.encode(item));
    logger.info('state machine restored from a snapshot', {
      index: snapshot.metadata.index,
      items: this.items.length,
    });
  }

  list(): string[] {
    const decoder = new TextDecoder();
    return this.items.map((item) => decoder.decode(item));
  }
}

/** Counts what each Ready wrote, to report entries per log write next to the store's fsyncs. */
class CountingLogStore implements LogStore {
  writes = 0;
  entries = 0;

  constructor(readonly inner: SegmentedLogStore) {}

  write(entries: readonly Entry[], hardState: HardState | null, options: WriteOptions): Promise<void> {
    this.writes += 1;
    this.entries += entries.length;
    return this.inner.write(entries, hardState, options);
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

function percentile(sorted: readonly number[], quantile: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))] ?? 0;
}

async function runLoad(node: RaftNode, load: BenchLoad): Promise<BenchLoadResult> {
  const data = new Uint8Array(load.entryBytes).fill(0x61);
  const latenciesMs: number[] = [];
  let failures = 0;
  const started = performance.now();
  const deadline = started + load.durationMs;
  await Promise.all(
    Array.from({ length: load.proposers }, async () => {
      while (performance.now() < deadline) {
        const proposed = performance.now();
        try {
          await node.propose(data);
          latenciesMs.push(performance.now() - proposed);
        } catch {
          // A refusal (overloaded, lost leadership) is counted, not retried at once: the loop
          // would otherwise spin on a node that cannot accept work.
          failures += 1;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latenciesMs.sort((left, right) => left - right);
  return {
    entries: latenciesMs.length,
    seconds,
    latencyMsP50: percentile(latenciesMs, 0.5),
    latencyMsP99: percentile(latenciesMs, 0.99),
    failures,
  };
}

async function main(): Promise<void> {
  const argument = process.argv[2];
  if (argument === undefined) throw new Error('usage: raft-process.ts <ProcessConfig JSON>');
  const config = JSON.parse(argument) as ProcessConfig;
  const transport = await TcpTransport.start({
    nodeId: config.nodeId,
    listenHost: '127.0.0.1',
    listenPort: config.port,
    peers: config.peers,
    clusterSecret: new TextEncoder().encode('raft-log process test cluster secret'),
    logger,
  });
  const store = new SegmentedLogStore({
    directory: join(config.directory, 'log'),
    nodeId: config.nodeId,
    clusterId: 'process-test',
    logger,
  });
  const logStore = new CountingLogStore(store);
  const stateMachine = new AppendOnlyList();
  const node = await RaftNode.start({
    raft: { nodeId: config.nodeId, rng: new Xoshiro128(config.seed), appendEntriesMax: 256 },
    bootstrapMembership: { voters: config.voters, learners: [] },
    logStore,
    snapshotStore: new FileSnapshotStore({ directory: join(config.directory, 'snapshots'), logger }),
    transport,
    stateMachine,
    logger,
    tickIntervalMs: config.tickIntervalMs,
    snapshotEveryEntries: config.snapshotEveryEntries,
  });

  const handle = async (request: ControlRequest): Promise<unknown> => {
    switch (request.op) {
      case 'propose':
        return node.propose(new TextEncoder().encode(request.data));
      case 'status': {
        const { role, term, leaderId, commitIndex, appliedIndex, snapshotIndex, lastIndex, membership } =
          node.status();
        return { role, term, leaderId, commitIndex, appliedIndex, snapshotIndex, lastIndex, membership };
      }
      case 'log':
        return stateMachine.list();
      case 'stats': {
        const { batches, datasyncs } = store.stats();
        const stats: LogWriteStats = {
          writes: logStore.writes,
          entries: logStore.entries,
          batches,
          datasyncs,
        };
        return stats;
      }
      case 'membership':
        return node.proposeMembership(request.change);
      case 'bench':
        return runLoad(node, request.load);
      case 'close':
        await node.close();
        // Exit once the reply is flushed; nothing else keeps the process alive by design.
        setImmediate(() => process.exit(0));
        return null;
    }
  };

  createInterface({ input: process.stdin }).on('line', (line) => {
    const request = JSON.parse(line) as ControlRequest;
    handle(request).then(
      (result) => emit({ event: 'reply', id: request.id, ok: true, result }),
      (error: unknown) =>
        emit({
          event: 'reply',
          id: request.id,
          ok: false,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        }),
    );
  });
  // The parent went away (test runner crashed): do not linger as an orphan holding a port.
  process.stdin.on('end', () => process.exit(0));
  emit({ event: 'started', nodeId: config.nodeId });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `raft-process failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
