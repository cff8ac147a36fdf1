import type { Entry } from '../src/core/types';
import { silentLogger } from '../src/support/logger';
import { SegmentedLogStore } from '../src/storage/segmented-log-store';

export interface GroupCommitOptions {
  /** An empty or missing directory; the log is written there. */
  readonly directory: string;
  /** Concurrent callers, each awaiting its own synced write before the next. */
  readonly writers: number;
  readonly writesPerWriter: number;
  readonly entryBytes: number;
}

export interface GroupCommitResult {
  readonly writes: number;
  readonly writesPerSecond: number;
  readonly batches: number;
  readonly datasyncs: number;
}

/**
 * Synced single-entry writes from many concurrent callers, as proposals from many transactions
 * arrive: group commit should make them share fdatasyncs. Compare writesPerSecond with the fsync
 * floor at batch size 1.
 */
export async function measureGroupCommit(options: GroupCommitOptions): Promise<GroupCommitResult> {
  const store = new SegmentedLogStore({
    directory: options.directory,
    nodeId: 'bench',
    clusterId: 'bench',
    logger: silentLogger,
  });
  await store.load();
  const data = new Uint8Array(options.entryBytes).fill(0xcd);
  let nextIndex = 1;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.writers }, async () => {
      for (let round = 0; round < options.writesPerWriter; round += 1) {
        // Taken synchronously at call time, so concurrent writers stay contiguous.
        const entry: Entry = { index: nextIndex, term: 1, kind: 'command', data };
        nextIndex += 1;
        await store.write([entry], null, { sync: true });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const { batches, datasyncs } = store.stats();
  await store.close();
  const writes = options.writers * options.writesPerWriter;
  return { writes, writesPerSecond: writes / seconds, batches, datasyncs };
}
