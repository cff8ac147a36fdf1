import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AppendEntries } from '../core/types';
import {
  CodecError,
  FRAME_BYTES_MAX,
  FRAME_LENGTH_BYTES,
  FrameType,
  WIRE_VERSION,
  decodeFrame,
  decodeMessageFrame,
  encodeFrame,
  encodeMessageFrame,
} from './codec';
import { FrameReader } from './frame-reader';
import { sampleEntries, sampleMessages } from './test-messages';

const withoutLength = (frame: Buffer): Buffer => frame.subarray(FRAME_LENGTH_BYTES);

describe('wire codec', () => {
  it.each(Object.values(sampleMessages('n1', 'n2')))('$kind round trips exactly', (message) => {
    expect(decodeMessageFrame(withoutLength(encodeMessageFrame(message)))).toEqual(message);
  });

  it('is generic: fields and kinds it has never seen survive a round trip', () => {
    const extended = {
      kind: 'futureKind',
      from: 'n1',
      to: 'n2',
      term: 3,
      nested: { list: [1, -2, 2.5, 'x', null, true, new Uint8Array([9])], big: 2 ** 53 - 1 },
      skipped: undefined,
    };
    const { skipped: _, ...expected } = extended;
    expect(decodeFrame(withoutLength(encodeFrame(FrameType.message, extended))).body).toEqual(expected);
  });

  it('a large appendEntries costs little more than its payload', () => {
    const message: AppendEntries = {
      ...sampleMessages('n1', 'n2').appendEntries,
      entries: sampleEntries(1, 1024, 256),
    };
    const payload = message.entries.reduce((sum, entry) => sum + entry.data.length, 0);
    const frame = encodeMessageFrame(message);
    // index, term, kind and data with their tags and key numbers: about 23 bytes an entry.
    expect(frame.length).toBeLessThan(payload + 32 * message.entries.length);
    expect(decodeMessageFrame(withoutLength(frame))).toEqual(message);

    const rounds = 50;
    const started = performance.now();
    for (let round = 0; round < rounds; round += 1)
      decodeMessageFrame(withoutLength(encodeMessageFrame(message)));
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `codec: ${Math.round((rounds * message.entries.length) / seconds)} entries/s encoded+decoded ` +
        `(1024 x 256 B per frame, ${frame.length} bytes/frame)`,
    );
  });

  it('rejects another wire version, an unknown frame type and trailing bytes', () => {
    const frame = withoutLength(encodeFrame(FrameType.message, { kind: 'timeoutNow' }));
    expect(() => decodeFrame(Buffer.from([WIRE_VERSION + 1, ...frame.subarray(1)]))).toThrow(/wire version/);
    expect(() => decodeFrame(Buffer.from([WIRE_VERSION, 99, ...frame.subarray(2)]))).toThrow(/frame type 99/);
    expect(() => decodeFrame(Buffer.concat([frame, Buffer.from([0])]))).toThrow(/trailing bytes/);
    expect(() => decodeFrame(frame.subarray(0, frame.length - 1))).toThrow(CodecError);
  });

  it('a body that is not a message is rejected before it could reach a handler', () => {
    const frame = (body: unknown): Buffer => withoutLength(encodeFrame(FrameType.message, body));
    expect(() => decodeMessageFrame(frame([1, 2]))).toThrow(/not an object/);
    expect(() => decodeMessageFrame(frame({ kind: 'timeoutNow', from: 'n1', to: 'n2' }))).toThrow(
      /invalid term/,
    );
    expect(() => decodeMessageFrame(frame({ kind: 'timeoutNow', term: 1 }))).toThrow(/from\/to/);
  });

  it('any byte string either decodes or fails with CodecError, never another error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeFrame(Buffer.from([WIRE_VERSION, FrameType.message, ...bytes]));
        } catch (error) {
          expect(error).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: 2000, seed: 42 },
    );
  });
});

describe('FrameReader', () => {
  it('reassembles frames split at every possible byte boundary', () => {
    const messages = Object.values(sampleMessages('n1', 'n2'));
    const stream = Buffer.concat(messages.map((message) => encodeMessageFrame(message)));
    for (const chunkBytes of [1, 2, 3, 7, 64, stream.length]) {
      const reader = new FrameReader(FRAME_BYTES_MAX);
      const decoded = [];
      for (let offset = 0; offset < stream.length; offset += chunkBytes) {
        for (const frame of reader.push(stream.subarray(offset, offset + chunkBytes))) {
          decoded.push(decodeMessageFrame(frame));
        }
      }
      expect(decoded).toEqual(messages);
    }
  });

  it('refuses a length prefix above its limit before buffering the frame', () => {
    const reader = new FrameReader(1024);
    const header = Buffer.alloc(4);
    header.writeUInt32LE(1025, 0);
    expect(() => reader.push(header)).toThrow(/frame length 1025 exceeds the limit of 1024 bytes/);
  });
});
