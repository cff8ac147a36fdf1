import { assert, decodeEntry, encodeEntry, type TxLogEntry } from '../engine';

// Group commit: every TxLogEntry the engine proposes in one turn of the event loop travels in one
// Raft entry, so one fsync and one replication round carry many transactions' BEGIN, DECISION and
// END. Layout: u32 count, then per entry u32 length + the engine's own encoding of it.

const COUNT_BYTES = 4;
const LENGTH_BYTES = 4;

export function encodeEntryBatch(entries: readonly TxLogEntry[]): Uint8Array {
  assert(entries.length > 0, 'an entry batch must hold at least one entry');
  const encoded = entries.map(encodeEntry);
  const total = encoded.reduce((sum, bytes) => sum + LENGTH_BYTES + bytes.length, COUNT_BYTES);
  const batch = Buffer.allocUnsafe(total);
  batch.writeUInt32BE(encoded.length, 0);
  let offset = COUNT_BYTES;
  for (const bytes of encoded) {
    batch.writeUInt32BE(bytes.length, offset);
    batch.set(bytes, offset + LENGTH_BYTES);
    offset += LENGTH_BYTES + bytes.length;
  }
  return batch;
}

/**
 * The inverse of encodeEntryBatch. A batch that does not parse is a crash, not a skip: the Raft
 * log is CRC-checked, so a bad batch means a bug, and skipping it would make nodes diverge.
 */
export function decodeEntryBatch(data: Uint8Array): TxLogEntry[] {
  const batch = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  assert(batch.length >= COUNT_BYTES, `entry batch of ${batch.length} bytes has no count`);
  const count = batch.readUInt32BE(0);
  const entries: TxLogEntry[] = [];
  let offset = COUNT_BYTES;
  for (let position = 0; position < count; position += 1) {
    assert(
      offset + LENGTH_BYTES <= batch.length,
      `entry batch truncated before entry ${position} of ${count}`,
    );
    const length = batch.readUInt32BE(offset);
    const end = offset + LENGTH_BYTES + length;
    assert(end <= batch.length, `entry ${position} of ${count} runs past the batch end`);
    entries.push(decodeEntry(batch.subarray(offset + LENGTH_BYTES, end)));
    offset = end;
  }
  assert(offset === batch.length, `entry batch has ${batch.length - offset} trailing bytes`);
  return entries;
}
