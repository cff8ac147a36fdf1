import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { assert } from '../core/assert';
import type { Index, Snapshot, SnapshotMetadata } from '../core/types';
import type { RaftLogLogger } from '../support/logger';
import { removeIfPresent, writeFileAtomic } from './durable-file';
import { LogCorruptionError } from './log-store';

/**
 * Durable snapshots. Only the newest matters: Raft restores from it and sends it to lagging
 * followers; older ones are deleted once a newer one is durable.
 */
export interface SnapshotStore {
  /** Durable when the promise resolves; `metadata.index` must not go backwards. */
  save(snapshot: Snapshot): Promise<void>;
  /** The newest saved snapshot, checked against its CRC, or null when none was saved. */
  loadLatest(): Promise<Snapshot | null>;
}

// File layout: SNAPSHOT_MAGIC | version u32 | metadata length u32 | metadata JSON | data | CRC32 u32
// of everything before it. Name: snapshot-<index, 20 digits>-<term, 20 digits>.snap.
const SNAPSHOT_MAGIC = Buffer.from('VRDTSNAP', 'latin1');
const SNAPSHOT_FORMAT_VERSION = 1;
const SNAPSHOT_HEADER_BYTES = SNAPSHOT_MAGIC.length + 8;
const SNAPSHOT_TRAILER_BYTES = 4;
const SNAPSHOT_NAME = /^snapshot-(\d{20})-(\d{20})\.snap$/;

function encodeSnapshotFile(snapshot: Snapshot): Buffer {
  const metadata = Buffer.from(JSON.stringify(snapshot.metadata), 'utf8');
  const file = Buffer.allocUnsafe(
    SNAPSHOT_HEADER_BYTES + metadata.length + snapshot.data.length + SNAPSHOT_TRAILER_BYTES,
  );
  SNAPSHOT_MAGIC.copy(file, 0);
  file.writeUInt32LE(SNAPSHOT_FORMAT_VERSION, SNAPSHOT_MAGIC.length);
  file.writeUInt32LE(metadata.length, SNAPSHOT_MAGIC.length + 4);
  metadata.copy(file, SNAPSHOT_HEADER_BYTES);
  file.set(snapshot.data, SNAPSHOT_HEADER_BYTES + metadata.length);
  const crcOffset = file.length - SNAPSHOT_TRAILER_BYTES;
  file.writeUInt32LE(crc32(file.subarray(0, crcOffset)), crcOffset);
  return file;
}

function decodeSnapshotFile(path: string, file: Buffer): Snapshot {
  const corrupt = (what: string): LogCorruptionError =>
    new LogCorruptionError(`snapshot ${path} is corrupt: ${what}; delete it to fall back to replication`);
  if (file.length < SNAPSHOT_HEADER_BYTES + SNAPSHOT_TRAILER_BYTES) throw corrupt('file is truncated');
  if (!file.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC))
    throw corrupt('not a Verdict snapshot');
  const crcOffset = file.length - SNAPSHOT_TRAILER_BYTES;
  if (crc32(file.subarray(0, crcOffset)) !== file.readUInt32LE(crcOffset)) throw corrupt('CRC mismatch');
  const version = file.readUInt32LE(SNAPSHOT_MAGIC.length);
  if (version !== SNAPSHOT_FORMAT_VERSION) throw corrupt(`unsupported format version ${version}`);
  const metadataBytes = file.readUInt32LE(SNAPSHOT_MAGIC.length + 4);
  const dataStart = SNAPSHOT_HEADER_BYTES + metadataBytes;
  if (dataStart > crcOffset) throw corrupt(`metadata length ${metadataBytes} exceeds the file`);
  const metadata = JSON.parse(file.toString('utf8', SNAPSHOT_HEADER_BYTES, dataStart)) as SnapshotMetadata;
  return { metadata, data: new Uint8Array(file.subarray(dataStart, crcOffset)) };
}

function snapshotFileName(metadata: SnapshotMetadata): string {
  return `snapshot-${String(metadata.index).padStart(20, '0')}-${String(metadata.term).padStart(20, '0')}.snap`;
}

export interface FileSnapshotStoreOptions {
  readonly directory: string;
  readonly logger: RaftLogLogger;
}

export class FileSnapshotStore implements SnapshotStore {
  // Invariant: the index of the newest durable snapshot, or 0 before the first one.
  private newestIndex: Index = 0;

  constructor(private readonly options: FileSnapshotStoreOptions) {}

  async save(snapshot: Snapshot): Promise<void> {
    assert(
      snapshot.metadata.index >= this.newestIndex,
      `snapshot index went backwards: ${this.newestIndex} -> ${snapshot.metadata.index}`,
    );
    const { directory } = this.options;
    await mkdir(directory, { recursive: true });
    const name = snapshotFileName(snapshot.metadata);
    await writeFileAtomic(directory, name, encodeSnapshotFile(snapshot));
    this.newestIndex = snapshot.metadata.index;
    // Only after the new one is durable: a crash in between leaves two, and load picks the newest.
    for (const older of (await this.snapshotNames()).filter((candidate) => candidate !== name)) {
      await removeIfPresent(join(directory, older));
    }
  }

  async loadLatest(): Promise<Snapshot | null> {
    const { directory } = this.options;
    await mkdir(directory, { recursive: true });
    for (const name of (await readdir(directory)).filter((candidate) => candidate.endsWith('.snap.tmp'))) {
      this.options.logger.info('removing an unfinished snapshot left by a crash', {
        file: join(directory, name),
      });
      await removeIfPresent(join(directory, name));
    }
    const newest = (await this.snapshotNames()).at(-1);
    if (newest === undefined) return null;
    const path = join(directory, newest);
    const snapshot = decodeSnapshotFile(path, await readFile(path));
    this.newestIndex = snapshot.metadata.index;
    return snapshot;
  }

  /** Snapshot file names, oldest first (the zero-padded index sorts as text). */
  private async snapshotNames(): Promise<string[]> {
    return (await readdir(this.options.directory)).filter((name) => SNAPSHOT_NAME.test(name)).sort();
  }
}

/** For tests and the simulator: keeps a private copy of the newest snapshot. */
export class MemorySnapshotStore implements SnapshotStore {
  private newest: Snapshot | null = null;

  save(snapshot: Snapshot): Promise<void> {
    const newestIndex = this.newest?.metadata.index ?? 0;
    assert(
      snapshot.metadata.index >= newestIndex,
      `snapshot index went backwards: ${newestIndex} -> ${snapshot.metadata.index}`,
    );
    this.newest = { metadata: snapshot.metadata, data: snapshot.data.slice() };
    return Promise.resolve();
  }

  loadLatest(): Promise<Snapshot | null> {
    return Promise.resolve(this.newest === null ? null : { ...this.newest, data: this.newest.data.slice() });
  }
}
