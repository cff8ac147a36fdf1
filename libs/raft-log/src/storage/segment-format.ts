import { crc32 } from 'node:zlib';
import type { Entry, EntryKind, Index } from '../core/types';
import { assert } from '../core/assert';
import { APPEND_BYTES_MAX } from '../core/config';
import { LogCorruptionError } from './log-store';

// On-disk layout of one log segment file, `log-<first index, 20 digits>.seg`:
//
//   segment header   SEGMENT_MAGIC (8 bytes) | format version u32 | reserved u32
//   record*          payload length u32 | payload CRC32 u32 | header CRC32 u32 | payload
//   payload          kind u8 | index u64 | term u64 | data
//
// All integers little-endian; u64 written as two u32 halves (indexes stay below 2^53).
// The header CRC guards the length: without it a flipped bit in a length could make a record
// in the middle look like a torn tail and repair would cut valid records after it.

const SEGMENT_MAGIC = Buffer.from('VRDTRLOG', 'latin1');
const SEGMENT_FORMAT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 12;
export const ENTRY_HEADER_BYTES = 17;
/** A segment is closed once the next record would take it past this size. */
export const SEGMENT_BYTES_MAX = 64 * 1024 * 1024;
/**
 * Larger entries are a programmer error: hosts reject such proposals before they reach the core.
 * Equal to the append batch budget, so one entry always fits in one appendEntries message.
 */
export const ENTRY_DATA_BYTES_MAX = APPEND_BYTES_MAX;
const RECORD_BYTES_MAX = RECORD_HEADER_BYTES + ENTRY_HEADER_BYTES + ENTRY_DATA_BYTES_MAX;

assert(SEGMENT_MAGIC.length === 8, 'segment magic is 8 bytes');
assert(SEGMENT_HEADER_BYTES === SEGMENT_MAGIC.length + 8, 'segment header is magic + version + reserved');
assert(
  SEGMENT_HEADER_BYTES + RECORD_BYTES_MAX <= SEGMENT_BYTES_MAX,
  'the largest record must fit in an empty segment',
);

const KIND_CODES: Readonly<Record<EntryKind, number>> = { command: 1, noop: 2, config: 3 };
const KINDS_BY_CODE: ReadonlyMap<number, EntryKind> = new Map(
  Object.entries(KIND_CODES).map(([kind, code]) => [code, kind as EntryKind]),
);
const U32 = 0x1_0000_0000;

export function segmentFileName(firstIndex: Index): string {
  return `log-${String(firstIndex).padStart(20, '0')}.seg`;
}

/** The first index a segment file holds, or null when the name is not a segment's. */
export function parseSegmentFileName(name: string): Index | null {
  const match = /^log-(\d{20})\.seg$/.exec(name);
  return match?.[1] === undefined ? null : Number(match[1]);
}

export function encodeSegmentHeader(): Buffer {
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(header, 0);
  header.writeUInt32LE(SEGMENT_FORMAT_VERSION, 8);
  return header;
}

function recordBytes(entry: Entry): number {
  return RECORD_HEADER_BYTES + ENTRY_HEADER_BYTES + entry.data.length;
}

/** Encodes `entries` into one buffer; `offsets[i]` is where entry i's record starts in it. */
export function encodeRecords(entries: readonly Entry[]): { buffer: Buffer; offsets: number[] } {
  let total = 0;
  for (const entry of entries) {
    assert(
      entry.data.length <= ENTRY_DATA_BYTES_MAX,
      `entry ${entry.index} carries ${entry.data.length} bytes, more than ENTRY_DATA_BYTES_MAX ${ENTRY_DATA_BYTES_MAX}`,
    );
    total += recordBytes(entry);
  }
  const buffer = Buffer.allocUnsafe(total);
  const offsets: number[] = [];
  let offset = 0;
  for (const entry of entries) {
    offsets.push(offset);
    const payloadStart = offset + RECORD_HEADER_BYTES;
    const payloadBytes = ENTRY_HEADER_BYTES + entry.data.length;
    buffer.writeUInt8(KIND_CODES[entry.kind], payloadStart);
    writeU64(buffer, entry.index, payloadStart + 1);
    writeU64(buffer, entry.term, payloadStart + 9);
    buffer.set(entry.data, payloadStart + ENTRY_HEADER_BYTES);
    buffer.writeUInt32LE(payloadBytes, offset);
    buffer.writeUInt32LE(crc32(buffer.subarray(payloadStart, payloadStart + payloadBytes)), offset + 4);
    buffer.writeUInt32LE(crc32(buffer.subarray(offset, offset + 8)), offset + 8);
    offset = payloadStart + payloadBytes;
  }
  assert(offset === total, `encoded ${offset} bytes, expected ${total}`);
  return { buffer, offsets };
}

export interface ParsedSegment {
  readonly entries: Entry[];
  /** Byte offset of each entry's record, parallel to `entries`. */
  readonly offsets: number[];
  /** Where valid data ends; less than the file size when the tail is torn. */
  readonly validBytes: number;
  /** Why the tail was cut, or null when the file ends on a record boundary. */
  readonly tornTail: string | null;
}

/**
 * Parses one segment file. In the last segment a torn tail (an append the crash interrupted) is
 * reported for the caller to cut; anything else that fails a check is a `LogCorruptionError`
 * naming the file and byte offset, because silently skipping a record would lose or reorder
 * acknowledged entries.
 */
export function parseSegment(
  path: string,
  file: Buffer,
  firstIndex: Index,
  isLastSegment: boolean,
): ParsedSegment {
  const corrupt = (offset: number, what: string): LogCorruptionError =>
    new LogCorruptionError(
      `log segment ${path} is corrupt at byte offset ${offset}: ${what}. ` +
        'Refusing to start: restore this node from a replica (remove its data directory and let it rejoin).',
    );
  if (file.length < SEGMENT_HEADER_BYTES) {
    if (isLastSegment)
      return { entries: [], offsets: [], validBytes: 0, tornTail: 'incomplete segment header' };
    throw corrupt(0, `file is ${file.length} bytes, shorter than the segment header`);
  }
  if (!file.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC))
    throw corrupt(0, 'not a Verdict log segment');
  const version = file.readUInt32LE(8);
  if (version !== SEGMENT_FORMAT_VERSION) throw corrupt(8, `unsupported format version ${version}`);

  const entries: Entry[] = [];
  const offsets: number[] = [];
  let offset = SEGMENT_HEADER_BYTES;
  const torn = (why: string): ParsedSegment => {
    if (!isLastSegment) throw corrupt(offset, `${why} in a segment that is not the last`);
    return { entries, offsets, validBytes: offset, tornTail: why };
  };
  while (offset < file.length) {
    const remaining = file.length - offset;
    if (remaining < RECORD_HEADER_BYTES) return torn(`${remaining} bytes of a record header`);
    const payloadBytes = file.readUInt32LE(offset);
    const payloadCrc = file.readUInt32LE(offset + 4);
    const headerCrc = file.readUInt32LE(offset + 8);
    if (crc32(file.subarray(offset, offset + 8)) !== headerCrc) {
      // A crash can leave the file longer than its data (zero-filled); anything else is damage.
      if (isZero(file, offset)) return torn(`${remaining} zero bytes after the last record`);
      throw corrupt(offset, 'record header checksum mismatch');
    }
    if (payloadBytes < ENTRY_HEADER_BYTES || payloadBytes > RECORD_BYTES_MAX - RECORD_HEADER_BYTES) {
      throw corrupt(offset, `record length ${payloadBytes} is impossible`);
    }
    const end = offset + RECORD_HEADER_BYTES + payloadBytes;
    if (end > file.length) return torn(`record of ${payloadBytes} bytes cut after ${remaining} bytes`);
    const payload = file.subarray(offset + RECORD_HEADER_BYTES, end);
    if (crc32(payload) !== payloadCrc) {
      if (end === file.length) return torn('last record fails its checksum');
      throw corrupt(offset, 'record payload checksum mismatch');
    }
    const kind = KINDS_BY_CODE.get(payload.readUInt8(0));
    if (kind === undefined) throw corrupt(offset, `unknown entry kind ${payload.readUInt8(0)}`);
    const index = readU64(payload, 1);
    const expectedIndex = firstIndex + entries.length;
    if (index !== expectedIndex) throw corrupt(offset, `entry index ${index}, expected ${expectedIndex}`);
    // A view, not a copy (a small ArrayBuffer per entry makes loading a large log slow): the
    // file buffer (read whole, unpooled) stays in memory while its entries do, and they are
    // compacted together.
    const data = new Uint8Array(
      payload.buffer,
      payload.byteOffset + ENTRY_HEADER_BYTES,
      payloadBytes - ENTRY_HEADER_BYTES,
    );
    entries.push({ index, term: readU64(payload, 9), kind, data });
    offsets.push(offset);
    offset = end;
  }
  return { entries, offsets, validBytes: offset, tornTail: null };
}

function isZero(buffer: Buffer, from: number): boolean {
  for (let position = from; position < buffer.length; position += 1) {
    if (buffer[position] !== 0) return false;
  }
  return true;
}

function writeU64(buffer: Buffer, value: number, offset: number): void {
  assert(Number.isSafeInteger(value) && value >= 0, `cannot encode ${value} as u64`);
  buffer.writeUInt32LE(value % U32, offset);
  buffer.writeUInt32LE(Math.floor(value / U32), offset + 4);
}

function readU64(buffer: Buffer, offset: number): number {
  return buffer.readUInt32LE(offset) + buffer.readUInt32LE(offset + 4) * U32;
}
