import { constants } from 'node:fs';
import { mkdir, open, readFile, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Entry, HardState, Index, NodeId } from '../core/types';
import { assert } from '../core/assert';
import { deferred, type Deferred } from '../support/deferred';
import type { RaftLogLogger } from '../support/logger';
import {
  encodeCheckedJson,
  fsyncDirectory,
  readCheckedJson,
  removeIfPresent,
  writeFileAtomic,
} from './durable-file';
import { LogBounds } from './log-bounds';
import {
  EMPTY_HARD_STATE,
  LogCorruptionError,
  LogStoreIoError,
  StorageIdentityError,
  type LoadedLog,
  type LogStore,
  type WriteOptions,
} from './log-store';
import {
  SEGMENT_BYTES_MAX,
  SEGMENT_HEADER_BYTES,
  encodeRecords,
  encodeSegmentHeader,
  parseSegment,
  parseSegmentFileName,
  segmentFileName,
} from './segment-format';

const IDENTITY_FILE = 'identity.json';
const STATE_FILE = 'hard-state.json';
const DATA_FORMAT_VERSION = 1;
/**
 * A commitIndex-only change is persisted once it is this far ahead of the persisted one (or with
 * the next term/votedFor change, compaction or close). Each hard-state write costs two fsyncs;
 * writing it on every commit would halve the throughput of group commit.
 */
export const COMMIT_INDEX_PERSIST_LAG_MAX = 4096;

export interface SegmentedLogStoreOptions {
  readonly directory: string;
  readonly nodeId: NodeId;
  readonly clusterId: string;
  readonly logger: RaftLogLogger;
  /** Defaults to SEGMENT_BYTES_MAX; tests pass a small value to exercise rolling. */
  readonly segmentBytesMax?: number;
}

/** How much work group commit saved: `batches` vs the number of write() calls made. */
export interface SegmentedLogStoreStats {
  batches: number;
  /** Data made durable: appends (each a synchronous write) plus explicit fdatasyncs. */
  datasyncs: number;
  hardStateWrites: number;
}

interface Segment {
  readonly firstIndex: Index;
  readonly path: string;
  // Invariant: offsets[i] is the byte offset of entry firstIndex + i's record, ascending.
  readonly offsets: number[];
  // Invariant: bytes >= SEGMENT_HEADER_BYTES, and bytes > every offset.
  bytes: number;
}

interface PersistedState {
  readonly hardState: HardState;
  /** Invariant: every index <= compactedIndex is gone from the log (files may lag behind). */
  readonly compactedIndex: Index;
}

type Operation =
  | {
      readonly kind: 'write';
      readonly done: Deferred<void>;
      readonly firstIndex: Index;
      readonly records: Buffer;
      readonly offsets: readonly number[];
      readonly truncateFrom: Index | null;
      readonly hardState: HardState | null;
    }
  | { readonly kind: 'truncateSuffix'; readonly done: Deferred<void>; readonly fromIndex: Index }
  | { readonly kind: 'compactPrefix'; readonly done: Deferred<void>; readonly throughIndex: Index }
  | { readonly kind: 'close'; readonly done: Deferred<void> };

// Where the platform has no O_DSYNC (Windows), appends would be durable only in name.
assert(constants.O_DSYNC !== undefined, 'the Raft log needs O_DSYNC, which this platform does not offer');
const APPEND_DURABLY = constants.O_WRONLY | constants.O_APPEND | constants.O_DSYNC;

/**
 * The durable `LogStore`: append-only segment files with a CRC per record (see segment-format.ts),
 * hard state in its own atomically replaced file, and group commit: every call made while a
 * batch is on disk joins the next batch, which costs one durable write.
 *
 * The last segment is appended to through an O_DSYNC handle: a write returns once its bytes are
 * on disk, as write + fdatasync would, but in one trip to libuv's thread pool instead of two.
 * Each trip wakes a pool thread and then the event loop; on a virtual machine whose idle CPUs
 * halt, a wakeup costs tens of microseconds of CPU (docs/local-stack.md).
 */
export class SegmentedLogStore implements LogStore {
  private readonly bounds = new LogBounds();
  private readonly segmentBytesMax: number;
  // Invariant: sorted by firstIndex; contiguous (each starts at the previous one's last index + 1).
  private segments: Segment[] = [];
  // Invariant: null, or an append handle on the last segment.
  private activeHandle: FileHandle | null = null;
  // Invariant: chunks placed in the last segment's `bytes`/`offsets` but not yet written.
  private pendingChunks: Buffer[] = [];
  private persisted: PersistedState = { hardState: EMPTY_HARD_STATE, compactedIndex: 0 };
  // Invariant: the newest hard state handed to write(); persisted.hardState lags it.
  private latestHardState: HardState = EMPTY_HARD_STATE;
  private queue: Operation[] = [];
  private flushing = false;
  private failure: LogStoreIoError | null = null;
  private phase: 'new' | 'loaded' | 'closed' = 'new';
  // Invariant: counters only grow; datasyncs <= batches + segments rolled + truncations.
  private readonly counters: SegmentedLogStoreStats = { batches: 0, datasyncs: 0, hardStateWrites: 0 };

  constructor(private readonly options: SegmentedLogStoreOptions) {
    this.segmentBytesMax = options.segmentBytesMax ?? SEGMENT_BYTES_MAX;
    // A record larger than a small test limit still gets a segment of its own (see placeRecords).
    assert(
      this.segmentBytesMax > SEGMENT_HEADER_BYTES,
      `segmentBytesMax ${this.segmentBytesMax} is too small`,
    );
  }

  stats(): Readonly<SegmentedLogStoreStats> {
    return { ...this.counters };
  }

  /** Every append is durable when it resolves, whatever `options.sync` asks. */
  write(entries: readonly Entry[], hardState: HardState | null, _options: WriteOptions): Promise<void> {
    this.assertOpen();
    const truncateFrom = this.bounds.checkWrite(entries, hardState);
    const { buffer, offsets } = encodeRecords(entries);
    return this.enqueue({
      kind: 'write',
      done: deferred<void>(),
      firstIndex: entries[0]?.index ?? 0,
      records: buffer,
      offsets,
      truncateFrom,
      hardState,
    });
  }

  truncateSuffix(fromIndex: Index): Promise<void> {
    this.assertOpen();
    this.bounds.checkTruncateSuffix(fromIndex);
    return this.enqueue({ kind: 'truncateSuffix', done: deferred<void>(), fromIndex });
  }

  compactPrefix(throughIndex: Index): Promise<void> {
    this.assertOpen();
    this.bounds.checkCompactPrefix(throughIndex);
    return this.enqueue({ kind: 'compactPrefix', done: deferred<void>(), throughIndex });
  }

  async close(): Promise<void> {
    if (this.phase === 'closed') return;
    this.assertOpen();
    this.phase = 'closed';
    if (this.failure === null) return this.enqueue({ kind: 'close', done: deferred<void>() });
    // Nothing more can be persisted after a failure; just release the file.
    await this.closeActive();
  }

  async load(): Promise<LoadedLog> {
    assert(this.phase === 'new', 'load() runs once, before any other call');
    const { directory } = this.options;
    await mkdir(directory, { recursive: true });
    const names = await readdir(directory);
    await this.checkIdentity(names);
    for (const name of names.filter((name) => name.endsWith('.tmp'))) {
      await removeIfPresent(join(directory, name));
    }
    this.persisted = await this.readState();
    this.latestHardState = this.persisted.hardState;
    const { compactedIndex } = this.persisted;

    const segmentNames = names
      .map((name) => ({ name, firstIndex: parseSegmentFileName(name) }))
      .filter((segment): segment is { name: string; firstIndex: number } => segment.firstIndex !== null)
      .sort((left, right) => left.firstIndex - right.firstIndex);
    const entries: Entry[] = [];
    for (const [position, { name, firstIndex }] of segmentNames.entries()) {
      const path = join(directory, name);
      const parsed = parseSegment(
        path,
        await readFile(path),
        firstIndex,
        position === segmentNames.length - 1,
      );
      const previous = this.segments.at(-1);
      if (previous !== undefined && firstIndex !== lastIndexOf(previous) + 1) {
        throw new LogCorruptionError(
          `log segment ${path} starts at index ${firstIndex} but the previous segment ends at ${lastIndexOf(previous)}: a segment is missing`,
        );
      }
      if (parsed.tornTail !== null) await this.repairTornTail(path, parsed.validBytes, parsed.tornTail);
      this.segments.push({
        firstIndex,
        path,
        offsets: parsed.offsets,
        bytes: Math.max(parsed.validBytes, SEGMENT_HEADER_BYTES),
      });
      for (const entry of parsed.entries) if (entry.index > compactedIndex) entries.push(entry);
    }
    // A crash during compaction can leave segments that compactPrefix had already given up.
    await this.deleteSegmentsThrough(compactedIndex);

    const firstIndex = compactedIndex + 1;
    const lastIndex = entries.at(-1)?.index ?? compactedIndex;
    const first = entries[0];
    if (first !== undefined && first.index !== firstIndex) {
      throw new LogCorruptionError(
        `log in ${directory} starts at index ${first.index} but the hard state says entries through ${compactedIndex} were compacted: entries are missing`,
      );
    }
    const { hardState } = this.persisted;
    if (hardState.commitIndex > lastIndex) {
      throw new LogCorruptionError(
        `hard state commitIndex ${hardState.commitIndex} is beyond the last log index ${lastIndex} in ${directory}: committed entries were lost`,
      );
    }
    this.bounds.reset(firstIndex, lastIndex, hardState);
    this.phase = 'loaded';
    return { hardState, entries, firstIndex, lastIndex };
  }

  private assertOpen(): void {
    assert(
      this.phase === 'loaded',
      `log store is ${this.phase}: call load() first and nothing after close()`,
    );
  }

  private enqueue(operation: Operation): Promise<void> {
    if (this.failure !== null) {
      operation.done.reject(this.failure);
    } else {
      this.queue.push(operation);
      if (!this.flushing) void this.flushQueue();
    }
    return operation.done.promise;
  }

  /** Runs batches until the queue is empty; calls made meanwhile form the next batch. */
  private async flushQueue(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0 && this.failure === null) {
      const batch = this.queue;
      this.queue = [];
      try {
        this.counters.batches += 1;
        await this.applyBatch(batch);
        for (const operation of batch) operation.done.resolve();
      } catch (error) {
        this.failure = new LogStoreIoError(
          `log store in ${this.options.directory} failed: ${error instanceof Error ? error.message : String(error)}; ` +
            'it accepts no further writes: restart the node to recover from the durable log',
          { cause: error },
        );
        for (const operation of [...batch, ...this.queue]) operation.done.reject(this.failure);
        this.queue = [];
        await this.closeActive().catch(() => undefined);
      }
    }
    this.flushing = false;
  }

  private async applyBatch(batch: readonly Operation[]): Promise<void> {
    let closing = false;
    for (const operation of batch) {
      switch (operation.kind) {
        case 'write':
          if (operation.truncateFrom !== null) await this.truncatePhysical(operation.truncateFrom);
          if (operation.offsets.length > 0) await this.placeRecords(operation);
          if (operation.hardState !== null) this.latestHardState = operation.hardState;
          break;
        case 'truncateSuffix':
          await this.truncatePhysical(operation.fromIndex);
          break;
        case 'compactPrefix':
          await this.compactPhysical(operation.throughIndex);
          break;
        case 'close':
          closing = true;
          break;
      }
    }
    // Appends are durable when written, so the hard state is never ahead of the durable log
    // (its commitIndex points into it), and a write asked to sync needs nothing more.
    await this.writePendingChunks();
    const stateDue = this.hardStateDue(closing);
    if (stateDue) await this.writeState({ ...this.persisted, hardState: this.latestHardState });
    if (closing) await this.closeActive();
  }

  private hardStateDue(closing: boolean): boolean {
    const persisted = this.persisted.hardState;
    const latest = this.latestHardState;
    if (latest.term !== persisted.term || latest.votedFor !== persisted.votedFor) return true;
    if (latest.commitIndex === persisted.commitIndex) return false;
    return closing || latest.commitIndex - persisted.commitIndex >= COMMIT_INDEX_PERSIST_LAG_MAX;
  }

  /** Places each record in the last segment, rolling to a new segment when one is full. */
  private async placeRecords(operation: Extract<Operation, { kind: 'write' }>): Promise<void> {
    const { records, offsets, firstIndex } = operation;
    let chunkStart = 0;
    for (let position = 0; position < offsets.length; position += 1) {
      const recordStart = offsets[position] ?? records.length;
      const recordEnd = offsets[position + 1] ?? records.length;
      const index = firstIndex + position;
      let segment = this.segments.at(-1);
      const full =
        segment !== undefined &&
        segment.offsets.length > 0 &&
        segment.bytes + (recordEnd - recordStart) > this.segmentBytesMax;
      if (segment === undefined || full) {
        if (recordStart > chunkStart) this.pendingChunks.push(records.subarray(chunkStart, recordStart));
        chunkStart = recordStart;
        await this.roll(index);
        segment = this.segments.at(-1);
        assert(segment !== undefined, 'roll() adds a segment');
      }
      assert(
        index === lastIndexOf(segment) + 1,
        `record ${index} does not follow segment ${segment.path} ending at ${lastIndexOf(segment)}`,
      );
      segment.offsets.push(segment.bytes);
      segment.bytes += recordEnd - recordStart;
    }
    if (records.length > chunkStart) this.pendingChunks.push(records.subarray(chunkStart));
  }

  private async writePendingChunks(): Promise<void> {
    if (this.pendingChunks.length === 0) return;
    const segment = this.segments.at(-1);
    assert(segment !== undefined, 'pending chunks belong to the last segment');
    const chunk = this.pendingChunks.length === 1 ? this.pendingChunks[0] : Buffer.concat(this.pendingChunks);
    assert(chunk !== undefined, 'one pending chunk');
    this.pendingChunks = [];
    const handle = await this.openActive();
    const { bytesWritten } = await handle.write(chunk, 0, chunk.length, null);
    if (bytesWritten !== chunk.length) {
      throw new Error(
        `short write to ${segment.path}: ${bytesWritten} of ${chunk.length} bytes (disk full?)`,
      );
    }
    this.counters.datasyncs += 1;
  }

  private async openActive(): Promise<FileHandle> {
    if (this.activeHandle === null) {
      const segment = this.segments.at(-1);
      assert(segment !== undefined, 'an active handle needs a segment');
      this.activeHandle = await open(segment.path, APPEND_DURABLY);
    }
    return this.activeHandle;
  }

  private async closeActive(): Promise<void> {
    const handle = this.activeHandle;
    this.activeHandle = null;
    await handle?.close();
  }

  /**
   * Starts a new segment at `firstIndex`. The closed segment is synced first so that a torn
   * record can only ever be in the last segment; the directory is synced so the new file exists
   * after a crash before any record in it is acknowledged.
   */
  private async roll(firstIndex: Index): Promise<void> {
    await this.writePendingChunks();
    await this.closeActive();
    const path = join(this.options.directory, segmentFileName(firstIndex));
    const handle = await open(path, 'wx');
    try {
      await handle.write(encodeSegmentHeader(), 0, SEGMENT_HEADER_BYTES, null);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await fsyncDirectory(this.options.directory);
    this.segments.push({ firstIndex, path, offsets: [], bytes: SEGMENT_HEADER_BYTES });
  }

  /**
   * Removes [fromIndex, +inf). Synced before anything is appended after it: otherwise a crash
   * could keep new records written over old ones while losing the shorter length, and old
   * records of an older term would reappear after the new ones.
   */
  private async truncatePhysical(fromIndex: Index): Promise<void> {
    await this.writePendingChunks();
    let removedFiles = false;
    for (
      let last = this.segments.at(-1);
      last !== undefined && last.firstIndex >= fromIndex;
      last = this.segments.at(-1)
    ) {
      await this.closeActive();
      await unlink(last.path);
      this.segments.pop();
      removedFiles = true;
    }
    if (removedFiles) await fsyncDirectory(this.options.directory);
    const last = this.segments.at(-1);
    if (last === undefined || fromIndex > lastIndexOf(last)) return;
    const cut = last.offsets[fromIndex - last.firstIndex];
    assert(cut !== undefined, `segment ${last.path} holds index ${fromIndex}`);
    const handle = await this.openActive();
    await handle.truncate(cut);
    // O_DSYNC covers writes, not a change of length.
    await handle.datasync();
    this.counters.datasyncs += 1;
    last.offsets.length = fromIndex - last.firstIndex;
    last.bytes = cut;
  }

  /** Records the compaction point durably, then deletes whole segments below it. */
  private async compactPhysical(throughIndex: Index): Promise<void> {
    await this.writePendingChunks();
    await this.writeState({ hardState: this.latestHardState, compactedIndex: throughIndex });
    await this.deleteSegmentsThrough(throughIndex);
  }

  private async deleteSegmentsThrough(throughIndex: Index): Promise<void> {
    let removedFiles = false;
    for (
      let first = this.segments[0];
      first !== undefined && lastIndexOf(first) <= throughIndex;
      first = this.segments[0]
    ) {
      if (this.segments.length === 1) await this.closeActive();
      await unlink(first.path);
      this.segments.shift();
      removedFiles = true;
    }
    if (removedFiles) await fsyncDirectory(this.options.directory);
  }

  private async repairTornTail(path: string, validBytes: number, reason: string): Promise<void> {
    this.options.logger.warn('cutting torn tail of the last log segment (a crash interrupted an append)', {
      file: path,
      offset: validBytes,
      reason,
    });
    const handle = await open(path, 'r+');
    try {
      // A file cut inside its header (crash right after creating it) becomes an empty segment.
      await handle.truncate(validBytes < SEGMENT_HEADER_BYTES ? 0 : validBytes);
      if (validBytes < SEGMENT_HEADER_BYTES) {
        await handle.write(encodeSegmentHeader(), 0, SEGMENT_HEADER_BYTES, 0);
      }
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  private async checkIdentity(names: readonly string[]): Promise<void> {
    const { directory, nodeId, clusterId } = this.options;
    const identity = await readCheckedJson(join(directory, IDENTITY_FILE));
    if (identity === null) {
      const foreign = names.filter((name) => name === STATE_FILE || parseSegmentFileName(name) !== null);
      if (foreign.length > 0) {
        throw new StorageIdentityError(
          `data directory ${directory} holds log files (${foreign.slice(0, 3).join(', ')}) but no ${IDENTITY_FILE}: ` +
            'refusing to guess which node wrote them',
        );
      }
      await writeFileAtomic(
        directory,
        IDENTITY_FILE,
        encodeCheckedJson({ version: DATA_FORMAT_VERSION, nodeId, clusterId }),
      );
      return;
    }
    if (identity.nodeId !== nodeId || identity.clusterId !== clusterId) {
      throw new StorageIdentityError(
        `data directory ${directory} belongs to node ${String(identity.nodeId)} of cluster ${String(identity.clusterId)}, ` +
          `but this process is node ${nodeId} of cluster ${clusterId}: refusing to start; fix the node id or the data directory`,
      );
    }
  }

  private async readState(): Promise<PersistedState> {
    const path = join(this.options.directory, STATE_FILE);
    const body = await readCheckedJson(path);
    if (body === null) return { hardState: EMPTY_HARD_STATE, compactedIndex: 0 };
    const { term, votedFor, commitIndex, compactedIndex } = body;
    if (
      !isIndex(term) ||
      !isIndex(commitIndex) ||
      !isIndex(compactedIndex) ||
      (votedFor !== null && typeof votedFor !== 'string')
    ) {
      throw new LogCorruptionError(`${path} has an invalid hard state: ${JSON.stringify(body)}`);
    }
    return { hardState: { term, votedFor, commitIndex }, compactedIndex };
  }

  private async writeState(state: PersistedState): Promise<void> {
    const { hardState, compactedIndex } = state;
    await writeFileAtomic(
      this.options.directory,
      STATE_FILE,
      encodeCheckedJson({ version: DATA_FORMAT_VERSION, ...hardState, compactedIndex }),
    );
    this.persisted = state;
    this.counters.hardStateWrites += 1;
  }
}

function lastIndexOf(segment: Segment): Index {
  return segment.firstIndex + segment.offsets.length - 1;
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
