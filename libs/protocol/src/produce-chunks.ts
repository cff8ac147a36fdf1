/**
 * A broker refuses a record batch larger than its `message.max.bytes` (about 1 MiB by default),
 * and it refuses it every time: a produce request built from a whole turn of commands, or from a
 * whole consumer batch of replies, could outgrow it on one partition and never get through. So
 * producers cut what they send into requests of at most `PRODUCE_REQUEST_BYTES_MAX` estimated
 * bytes, sent one after the other, which keeps the order of messages on every partition.
 */
export const PRODUCE_REQUEST_BYTES_MAX = 512 * 1024;

/** Record framing in a v2 record batch (varints, timestamp and offset deltas, attributes), generously. */
const RECORD_OVERHEAD_BYTES = 32;

export interface SizedMessage {
  readonly key?: Buffer | string | null;
  readonly value: Buffer | string | null;
  readonly headers?: Readonly<Record<string, Buffer | string | (Buffer | string)[] | undefined>>;
}

function byteLength(data: Buffer | string | null | undefined): number {
  if (data === null || data === undefined) return 0;
  return typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length;
}

/** A message's size in a record batch, overestimated a little. */
export function encodedMessageBytes(message: SizedMessage): number {
  let bytes = RECORD_OVERHEAD_BYTES + byteLength(message.key) + byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const values = Array.isArray(value) ? value : [value];
    for (const one of values) bytes += 8 + Buffer.byteLength(name, 'utf8') + byteLength(one);
  }
  return bytes;
}

/**
 * Cuts `items` into consecutive chunks of at most `bytesMax` (by `sizeOf`), in order. An item
 * larger than `bytesMax` travels alone (the protocol caps one message far below the broker's limit).
 */
export function chunkBySize<T>(items: readonly T[], sizeOf: (item: T) => number, bytesMax: number): T[][] {
  if (!Number.isInteger(bytesMax) || bytesMax < 1) {
    throw new RangeError(`chunk size limit is ${bytesMax}; use a positive integer`);
  }
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (chunk.length > 0 && bytes + size > bytesMax) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(item);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
