import { assert } from '../core/assert';
import { CodecError, FRAME_BYTES_MAX, FRAME_LENGTH_BYTES } from './codec';

/**
 * Splits a TCP byte stream into frames. Chunks are kept as they arrive and joined once per frame,
 * so a large frame arriving in many small chunks costs one copy, not one per chunk.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  // Invariant: buffered === sum of chunks' lengths.
  private buffered = 0;

  /** `frameBytesMax` may be lowered (before authentication) but never raised above FRAME_BYTES_MAX. */
  constructor(public frameBytesMax: number) {
    assert(frameBytesMax <= FRAME_BYTES_MAX, `frameBytesMax ${frameBytesMax} exceeds FRAME_BYTES_MAX`);
  }

  /** Bytes received but not yet returned as a frame: a frame still arriving, or cut short. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Returns every complete frame (without its length prefix); throws CodecError on a bad length. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    while (this.buffered >= FRAME_LENGTH_BYTES) {
      const length = this.peekLength();
      if (length > this.frameBytesMax) {
        throw new CodecError(`frame length ${length} exceeds the limit of ${this.frameBytesMax} bytes`);
      }
      if (this.buffered < FRAME_LENGTH_BYTES + length) break;
      frames.push(this.take(FRAME_LENGTH_BYTES + length).subarray(FRAME_LENGTH_BYTES));
    }
    return frames;
  }

  private peekLength(): number {
    const first = this.chunks[0];
    assert(first !== undefined, 'peekLength needs buffered bytes');
    const header =
      first.length >= FRAME_LENGTH_BYTES ? first : Buffer.concat(this.chunks, FRAME_LENGTH_BYTES);
    return header.readUInt32LE(0);
  }

  private take(bytes: number): Buffer {
    const first = this.chunks[0];
    assert(first !== undefined && this.buffered >= bytes, `take(${bytes}) with ${this.buffered} buffered`);
    let taken: Buffer;
    if (first.length >= bytes) {
      taken = first.subarray(0, bytes);
      if (first.length === bytes) this.chunks.shift();
      else this.chunks[0] = first.subarray(bytes);
    } else {
      const joined = Buffer.concat(this.chunks);
      taken = joined.subarray(0, bytes);
      this.chunks = joined.length > bytes ? [joined.subarray(bytes)] : [];
    }
    this.buffered -= bytes;
    return taken;
  }
}
