import { promisify } from 'node:util';
import { zstdCompress, zstdDecompress } from 'node:zlib';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { compressFrame, decompressFrame } from 'lz4-napi';
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from 'snappy';

/**
 * kafkajs reads only uncompressed and gzip batches, and a batch it cannot read crashes its
 * consumer for good. Clients in other languages compress by default (franz-go: snappy;
 * librdkafka and Java: often lz4 or zstd), so both the coordinator and the participant SDK
 * register these codecs before they consume. Verdict itself writes uncompressed: its messages
 * are a few hundred bytes of JSON and a produce request leaves after one turn of the engine.
 */

/** The stream header that Java clients (xerial snappy-java) put before snappy blocks. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** Magic, then version and minimum compatible version (int32 each, big-endian). */
const XERIAL_HEADER_BYTES = XERIAL_MAGIC.length + 8;
/** snappy-java's default block; any size reads back. */
const XERIAL_BLOCK_BYTES = 32 * 1024;

interface KafkaCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const zstdCompressAsync = promisify(zstdCompress);
const zstdDecompressAsync = promisify(zstdDecompress);

/** A corrupt batch must reject, not throw, where kafkajs awaits the codec. */
function settled<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()));
}

function asBuffer(data: string | Buffer): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'binary') : data;
}

/**
 * Kafka snappy is either one raw snappy block (franz-go, librdkafka, Sarama) or the xerial
 * framing (Java): a 16-byte header, then blocks each preceded by its int32 big-endian length.
 */
export function decompressKafkaSnappy(buffer: Buffer): Buffer {
  if (buffer.length < XERIAL_HEADER_BYTES || !buffer.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
    return asBuffer(snappyUncompress(buffer));
  }
  const blocks: Buffer[] = [];
  let at = XERIAL_HEADER_BYTES;
  while (at < buffer.length) {
    if (at + 4 > buffer.length) throw new Error(`xerial snappy: truncated block length at byte ${at}`);
    const length = buffer.readInt32BE(at);
    at += 4;
    if (length < 0 || at + length > buffer.length) {
      throw new Error(
        `xerial snappy: block of ${length} bytes at byte ${at} runs past the end (${buffer.length})`,
      );
    }
    blocks.push(asBuffer(snappyUncompress(buffer.subarray(at, at + length))));
    at += length;
  }
  return Buffer.concat(blocks);
}

/** Writes the xerial framing, which every Kafka client reads (raw blocks are not read by Java). */
export function compressKafkaSnappy(buffer: Buffer): Buffer {
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header);
  header.writeInt32BE(1, XERIAL_MAGIC.length);
  header.writeInt32BE(1, XERIAL_MAGIC.length + 4);
  const parts: Buffer[] = [header];
  for (let at = 0; at < buffer.length; at += XERIAL_BLOCK_BYTES) {
    const block = snappyCompress(buffer.subarray(at, at + XERIAL_BLOCK_BYTES));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

const snappyCodec = (): KafkaCodec => ({
  compress: ({ buffer }) => settled(() => compressKafkaSnappy(buffer)),
  decompress: (buffer) => settled(() => decompressKafkaSnappy(buffer)),
});

// Kafka's lz4 is the LZ4 frame format (since message format v1 with a correct header checksum).
const lz4Codec = (): KafkaCodec => ({
  compress: ({ buffer }) => compressFrame(buffer),
  decompress: (buffer) => decompressFrame(buffer),
});

// Node's own zlib has zstd since 22.15 / 23.8.
const zstdCodec = (): KafkaCodec => ({
  compress: ({ buffer }) => zstdCompressAsync(buffer),
  decompress: (buffer) => zstdDecompressAsync(buffer),
});

/**
 * Registers snappy, lz4 and zstd with kafkajs (gzip is built in). kafkajs keeps codecs in one
 * table per process, so this is global and idempotent; call it before creating a consumer.
 */
export function registerKafkaCodecs(): void {
  CompressionCodecs[CompressionTypes.Snappy] = snappyCodec;
  CompressionCodecs[CompressionTypes.LZ4] = lz4Codec;
  CompressionCodecs[CompressionTypes.ZSTD] = zstdCodec;
}

/** The compressions a Verdict consumer reads, as Kafka names them. */
export const READABLE_COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

// On import: the coordinator, the SDK and any tool or test that imports the protocol then read
// what other-language clients wrote, before any consumer of theirs is created.
registerKafkaCodecs();
