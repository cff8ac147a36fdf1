import { describe, expect, it } from 'vitest';
import { InvariantViolation, type TxLogEntry } from '../engine';
import { decodeEntryBatch, encodeEntryBatch } from './entry-batch';

const txId = '01a2125e-f690-72c7-abe4-c6a1df3678a0';
const entries: TxLogEntry[] = [
  { kind: 'PREPARING', txId, atMs: 1_000 },
  {
    kind: 'DECISION',
    txId,
    outcome: 'COMMIT',
    cause: 'VOTES',
    reason: 'every participant voted YES',
    resolvedBy: null,
    atMs: 1_010,
  },
  { kind: 'END', txIds: [txId] },
];

describe('entry batches (group commit)', () => {
  it('carry many engine entries in one Raft entry, in order', () => {
    expect(decodeEntryBatch(encodeEntryBatch(entries))).toEqual(entries);
  });

  it('refuse a truncated or padded batch instead of applying part of it', () => {
    const batch = encodeEntryBatch(entries);
    expect(() => decodeEntryBatch(batch.subarray(0, batch.length - 3))).toThrow(InvariantViolation);
    expect(() => decodeEntryBatch(Buffer.concat([batch, Buffer.from([0])]))).toThrow(/trailing bytes/);
  });

  it('refuse an empty batch', () => {
    expect(() => encodeEntryBatch([])).toThrow(/at least one entry/);
  });
});
