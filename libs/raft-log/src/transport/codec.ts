import { assert } from '../core/assert';
import { APPEND_BYTES_MAX, APPEND_ENTRIES_MAX, SNAPSHOT_CHUNK_BYTES_MAX } from '../core/config';
import type { RaftMessage } from '../core/types';
import { ENTRY_DATA_BYTES_MAX } from '../storage/segment-format';

// Wire format. A frame is
//
//   length u32 LE (bytes after this field) | version u8 | frame type u8 | body
//
// and a body is one value in a small tagged encoding that is generic over plain data: the core
// may add message kinds or fields without touching this file. Uint8Array fields travel as raw
// bytes (no base64, no JSON escaping); object keys are sent once per frame and then referenced
// by number, so an appendEntries of a thousand entries does not repeat "index", "term", "kind"
// and "data" a thousand times.
//
//   value  := NULL | FALSE | TRUE | UINT varint | NEGATIVE varint | FLOAT f64 LE
//           | STRING varint-length utf8 | SHORT_STRING key | BYTES varint-length raw
//           | ARRAY varint-count value* | OBJECT varint-count (key value)*
//   key    := varint 0, varint-length utf8   (a new key: it gets the next number, from 1)
//           | varint n                        (the key numbered n)
//
// Short strings (SHORT_STRING_LENGTH_MAX) share the key numbering, because they are mostly
// enum-like values repeated in every entry ("command", message kinds, node ids). Properties
// whose value is `undefined` are left out (as JSON does).

export const WIRE_VERSION = 1;
export const FRAME_LENGTH_BYTES = 4;
const FRAME_HEADER_BYTES = FRAME_LENGTH_BYTES + 2;

/** Encoding overhead of one entry beyond its data (tags, index, term, kind, key numbers). */
const ENTRY_OVERHEAD_BYTES_MAX = 64;
/** Encoding overhead of a message beyond its entries or chunk (base fields, metadata, membership). */
const MESSAGE_OVERHEAD_BYTES_MAX = 64 * 1024;
/** Largest frame a peer may send; a longer length prefix drops the connection before buffering. */
export const FRAME_BYTES_MAX = 8 * 1024 * 1024;
/** Before authentication only small handshake frames are accepted, so strangers cannot make us buffer. */
export const HANDSHAKE_FRAME_BYTES_MAX = 1024;
/** Nesting bound for decoding: messages are shallow; this stops a crafted frame exhausting the stack. */
const DECODE_DEPTH_MAX = 16;

assert(
  FRAME_BYTES_MAX >=
    APPEND_BYTES_MAX + APPEND_ENTRIES_MAX * ENTRY_OVERHEAD_BYTES_MAX + MESSAGE_OVERHEAD_BYTES_MAX,
  'a full appendEntries batch must fit in one frame',
);
assert(
  FRAME_BYTES_MAX >= ENTRY_DATA_BYTES_MAX + ENTRY_OVERHEAD_BYTES_MAX + MESSAGE_OVERHEAD_BYTES_MAX,
  'the largest single entry must fit in one frame',
);
assert(
  FRAME_BYTES_MAX >= SNAPSHOT_CHUNK_BYTES_MAX + MESSAGE_OVERHEAD_BYTES_MAX,
  'a snapshot chunk must fit in one frame',
);
assert(HANDSHAKE_FRAME_BYTES_MAX < FRAME_BYTES_MAX, 'handshake frames are a small subset');

export const FrameType = {
  message: 1,
  challenge: 2,
  hello: 3,
  welcome: 4,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];
const FRAME_TYPES: ReadonlySet<number> = new Set(Object.values(FrameType));

const Tag = {
  null: 0,
  false: 1,
  true: 2,
  uint: 3,
  negative: 4,
  float: 5,
  string: 6,
  bytes: 7,
  array: 8,
  object: 9,
  shortString: 10,
} as const;
const SHORT_STRING_LENGTH_MAX = 32;

/** An inbound frame that is malformed, oversized or of another version: drop the connection. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
}

class Writer {
  private buffer: Buffer;
  // Invariant: length <= buffer.length.
  length = 0;
  // Invariant: keys.get(k) is the number (from 1) this frame gave key k.
  private readonly keys = new Map<string, number>();

  constructor(initialBytes: number) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  result(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  u8(value: number): void {
    this.reserve(1);
    this.buffer[this.length] = value;
    this.length += 1;
  }

  varint(value: number): void {
    this.reserve(8);
    if (value < 0x80) {
      this.buffer[this.length] = value;
      this.length += 1;
      return;
    }
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.length] = (rest % 0x80) | 0x80;
      this.length += 1;
      rest = Math.floor(rest / 0x80);
    }
    this.buffer[this.length] = rest;
    this.length += 1;
  }

  raw(bytes: Uint8Array): void {
    this.varint(bytes.length);
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  text(value: string): void {
    const bytes = Buffer.byteLength(value, 'utf8');
    this.varint(bytes);
    this.reserve(bytes);
    this.length += this.buffer.write(value, this.length, bytes, 'utf8');
  }

  key(key: string): void {
    const number = this.keys.get(key);
    if (number !== undefined) {
      this.varint(number);
      return;
    }
    this.varint(0);
    this.text(key);
    this.keys.set(key, this.keys.size + 1);
  }

  value(value: unknown): void {
    if (value === null) return this.u8(Tag.null);
    switch (typeof value) {
      case 'boolean':
        return this.u8(value ? Tag.true : Tag.false);
      case 'number':
        if (Number.isSafeInteger(value)) {
          this.u8(value >= 0 ? Tag.uint : Tag.negative);
          return this.varint(Math.abs(value));
        }
        this.u8(Tag.float);
        this.reserve(8);
        this.buffer.writeDoubleLE(value, this.length);
        this.length += 8;
        return;
      case 'string':
        if (value.length <= SHORT_STRING_LENGTH_MAX) {
          this.u8(Tag.shortString);
          return this.key(value);
        }
        this.u8(Tag.string);
        return this.text(value);
      case 'object':
        if (value instanceof Uint8Array) {
          this.u8(Tag.bytes);
          return this.raw(value);
        }
        if (Array.isArray(value)) {
          this.u8(Tag.array);
          this.varint(value.length);
          for (const item of value as readonly unknown[]) this.value(item);
          return;
        }
        return this.object(value as Readonly<Record<string, unknown>>);
      default:
        assert(false, `cannot encode a ${typeof value} on the wire`);
    }
  }

  private object(value: Readonly<Record<string, unknown>>): void {
    // Hot path (once per entry): one allocation, no closures.
    const keys = Object.keys(value);
    let count = keys.length;
    for (const key of keys) if (value[key] === undefined) count -= 1;
    this.u8(Tag.object);
    this.varint(count);
    for (const key of keys) {
      const field = value[key];
      if (field === undefined) continue;
      this.key(key);
      this.value(field);
    }
  }
}

/**
 * Encodes one frame. An outbound frame above FRAME_BYTES_MAX is a programmer error: the core
 * bounds batches and chunks (see the asserts above), so such a message should never exist.
 */
export function encodeFrame(type: FrameType, body: unknown, initialBytes = 1024): Buffer {
  const writer = new Writer(initialBytes);
  writer.reserve(FRAME_HEADER_BYTES);
  writer.length = FRAME_HEADER_BYTES;
  writer.value(body);
  const frame = writer.result();
  const length = frame.length - FRAME_LENGTH_BYTES;
  assert(
    length <= FRAME_BYTES_MAX,
    `outbound frame of ${length} bytes exceeds FRAME_BYTES_MAX ${FRAME_BYTES_MAX}`,
  );
  frame.writeUInt32LE(length, 0);
  frame[FRAME_LENGTH_BYTES] = WIRE_VERSION;
  frame[FRAME_LENGTH_BYTES + 1] = type;
  return frame;
}

/** Encodes a Raft message, sizing the buffer from its payload so large batches never regrow. */
export function encodeMessageFrame(message: RaftMessage): Buffer {
  let payloadBytes = 256;
  if (message.kind === 'appendEntries') {
    for (const entry of message.entries) payloadBytes += entry.data.length + 24;
  } else if (message.kind === 'installSnapshot') {
    payloadBytes += message.chunk.length;
  }
  return encodeFrame(FrameType.message, message, payloadBytes);
}

class Reader {
  private offset = 0;
  private readonly keys: string[] = [];
  // Invariant: null, or a private copy of `buffer` that every decoded byte field is a view into.
  private arena: Uint8Array | null = null;

  constructor(private readonly buffer: Buffer) {}

  atEnd(): boolean {
    return this.offset === this.buffer.length;
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.buffer.length) {
      throw new CodecError(`value runs past the end of the frame at body offset ${this.offset}`);
    }
  }

  private u8(): number {
    this.need(1);
    const value = this.buffer[this.offset] ?? 0;
    this.offset += 1;
    return value;
  }

  private varint(): number {
    const first = this.buffer[this.offset];
    if (first !== undefined && first < 0x80) {
      this.offset += 1;
      return first;
    }
    let value = 0;
    let scale = 1;
    for (let shift = 0; ; shift += 7) {
      if (shift > 49) throw new CodecError(`varint too long at body offset ${this.offset}`);
      const byte = this.u8();
      value += (byte & 0x7f) * scale;
      scale *= 0x80;
      if (byte < 0x80) break;
    }
    if (!Number.isSafeInteger(value)) throw new CodecError(`varint ${value} is not a safe integer`);
    return value;
  }

  private length(): number {
    const length = this.varint();
    this.need(length);
    return length;
  }

  private text(): string {
    const length = this.length();
    const value = this.buffer.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  value(depth: number): unknown {
    if (depth > DECODE_DEPTH_MAX) throw new CodecError(`nesting deeper than ${DECODE_DEPTH_MAX}`);
    const tag = this.u8();
    switch (tag) {
      case Tag.null:
        return null;
      case Tag.false:
        return false;
      case Tag.true:
        return true;
      case Tag.uint:
        return this.varint();
      case Tag.negative:
        return -this.varint();
      case Tag.float: {
        this.need(8);
        const value = this.buffer.readDoubleLE(this.offset);
        this.offset += 8;
        return value;
      }
      case Tag.string:
        return this.text();
      case Tag.shortString:
        return this.key();
      case Tag.bytes: {
        const length = this.length();
        // One copy of the frame, then views into it: allocating a small ArrayBuffer per entry
        // cost ~5x the rest of decoding. The copy is private, so a view pins only this frame
        // (entries of one appendEntries live and are compacted together), never a socket chunk
        // or a shared Buffer pool slab.
        this.arena ??= new Uint8Array(this.buffer);
        const bytes = new Uint8Array(this.arena.buffer, this.offset, length);
        this.offset += length;
        return bytes;
      }
      case Tag.array: {
        const count = this.varint();
        // Every item takes at least one byte: a larger count is a lie, not a reason to allocate.
        this.need(count);
        const items: unknown[] = [];
        for (let position = 0; position < count; position += 1) items.push(this.value(depth + 1));
        return items;
      }
      case Tag.object: {
        const count = this.varint();
        this.need(count * 2);
        const object: Record<string, unknown> = {};
        for (let position = 0; position < count; position += 1) {
          const key = this.key();
          if (key === '__proto__') throw new CodecError('object key __proto__ is not allowed');
          object[key] = this.value(depth + 1);
        }
        return object;
      }
      default:
        throw new CodecError(`unknown value tag ${tag} at body offset ${this.offset - 1}`);
    }
  }

  private key(): string {
    const number = this.varint();
    if (number === 0) {
      const key = this.text();
      this.keys.push(key);
      return key;
    }
    const key = this.keys[number - 1];
    if (key === undefined) throw new CodecError(`object key number ${number} was never defined`);
    return key;
  }
}

/** Decodes a frame without its length prefix (as FrameReader yields it). */
export function decodeFrame(frame: Buffer): { type: FrameType; body: unknown } {
  if (frame.length < 2) throw new CodecError(`frame of ${frame.length} bytes has no header`);
  const version = frame[0] ?? 0;
  if (version !== WIRE_VERSION)
    throw new CodecError(`wire version ${version}, this node speaks ${WIRE_VERSION}`);
  const type = frame[1] ?? 0;
  if (!FRAME_TYPES.has(type)) throw new CodecError(`unknown frame type ${type}`);
  const reader = new Reader(frame.subarray(2));
  const body = reader.value(0);
  if (!reader.atEnd()) throw new CodecError('trailing bytes after the frame body');
  return { type: type as FrameType, body };
}

/**
 * Checks what every message shares. The fields of each kind are the core's to define and are not
 * re-validated here: frames come only from peers that proved they hold the cluster secret.
 */
export function toRaftMessage(body: unknown): RaftMessage {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || body instanceof Uint8Array) {
    throw new CodecError('message body is not an object');
  }
  const { kind, from, to, term } = body as Record<string, unknown>;
  if (typeof kind !== 'string') throw new CodecError('message has no kind');
  if (typeof from !== 'string' || typeof to !== 'string')
    throw new CodecError(`${kind} message lacks from/to`);
  if (typeof term !== 'number' || !Number.isSafeInteger(term) || term < 0) {
    throw new CodecError(`${kind} message has an invalid term`);
  }
  return body as RaftMessage;
}

export function decodeMessageFrame(frame: Buffer): RaftMessage {
  const { type, body } = decodeFrame(frame);
  if (type !== FrameType.message) throw new CodecError(`expected a message frame, got frame type ${type}`);
  return toRaftMessage(body);
}
