import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantViolation } from './assert';
import { canonicalStringify, encodeCanonical } from './canonical-json';
import { isoTime } from './engine';
import { decodeEntry, encodeEntry, type TxLogEntry } from './entries';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_FORMAT_VERSION, SnapshotEncoding } from './snapshot';
import { itAuditedEveryEffectList } from './test/audit';
import { Harness, T0, txIdOf } from './test/harness';
import type { JsonValue } from './types';

const text = (value: Uint8Array): string => new TextDecoder().decode(value);
const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);

const SEED = 20261125;

const jsonValue: fc.Arbitrary<JsonValue> = fc.jsonValue({ maxDepth: 4 }).map((value) => value as JsonValue);
const txId = fc.uuid({ version: 7 });
const name = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,12}$/);
const epochMs = fc.integer({ min: 0, max: 2 ** 47 });
const participants = fc.uniqueArray(fc.record({ name, work: jsonValue }), {
  selector: (participant) => participant.name,
  maxLength: 5,
});
const entry: fc.Arbitrary<TxLogEntry> = fc.oneof(
  fc.record({
    kind: fc.constant('BEGIN' as const),
    txId,
    participants,
    createdAtMs: epochMs,
    deadlineMs: epochMs,
    metadata: fc.dictionary(fc.string(), fc.string(), { maxKeys: 4 }),
    idempotency: fc.option(
      fc.record({ key: fc.string({ minLength: 1 }), fingerprint: fc.string({ minLength: 1 }) }),
      {
        nil: null,
      },
    ),
  }),
  fc.record({
    kind: fc.constant('ENLIST' as const),
    txId,
    participant: fc.record({ name, work: jsonValue }),
    atMs: fc.option(epochMs, { nil: null }),
  }),
  fc.record({ kind: fc.constant('PREPARING' as const), txId, atMs: epochMs }),
  fc.record({
    kind: fc.constant('DECISION' as const),
    txId,
    outcome: fc.constantFrom('COMMIT' as const, 'ABORT' as const),
    cause: fc.constantFrom(
      'VOTES' as const,
      'VOTED_NO' as const,
      'DEADLINE' as const,
      'CLIENT_ABORT' as const,
      'PARTICIPANT_UNAVAILABLE' as const,
      'OPERATOR' as const,
    ),
    reason: fc.string({ maxLength: 100 }),
    resolvedBy: fc.option(fc.string(), { nil: null }),
    atMs: epochMs,
  }),
  fc.record({ kind: fc.constant('END' as const), txIds: fc.array(txId, { minLength: 1, maxLength: 5 }) }),
);

describe('log entry codec', () => {
  it('encodes canonical JSON: version first by sort order, keys sorted, no whitespace', () => {
    const encoded = encodeEntry({ kind: 'PREPARING', txId: txIdOf('tx1'), atMs: T0 });
    expect(text(encoded)).toBe(`{"atMs":${T0},"kind":"PREPARING","txId":"${txIdOf('tx1')}","v":1}`);
  });

  it('decode(encode(entry)) is the entry, and encode(decode(bytes)) the same bytes', () => {
    fc.assert(
      fc.property(entry, (original) => {
        const encoded = encodeEntry(original);
        const decoded = decodeEntry(encoded);
        expect(decoded).toEqual(original);
        expect(encodeEntry(decoded)).toEqual(encoded);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('the bytes do not depend on the order keys were written in', () => {
    const forward = encodeCanonical({ a: 1, b: { c: [1, { d: 2, e: 3 }] } });
    const backward = encodeCanonical({ b: { c: [1, { e: 3, d: 2 }] }, a: 1 });
    expect(forward).toEqual(backward);
  });

  it.each([
    [
      'an older or newer format',
      '{"v":2,"kind":"END","txIds":["a"]}',
      'log entry format v2; this engine reads v1',
    ],
    ['an unknown kind', '{"v":1,"kind":"PAUSE"}', 'log entry kind PAUSE is not one this engine knows'],
    ['a bad outcome', `{"v":1,"kind":"DECISION","txId":"a","outcome":"MAYBE"}`, 'DECISION.outcome is MAYBE'],
    [
      'a negative time',
      '{"v":1,"kind":"PREPARING","txId":"a","atMs":-1}',
      'PREPARING.atMs is not epoch milliseconds: -1',
    ],
    ['an empty END', '{"v":1,"kind":"END","txIds":[]}', 'END.txIds is empty'],
    ['not JSON', '{"v":1,', 'log entry is not JSON'],
  ])('refuses %s with an InvariantViolation naming the field', (_case, body, message) => {
    expect(() => decodeEntry(bytes(body))).toThrow(InvariantViolation);
    expect(() => decodeEntry(bytes(body))).toThrow(message);
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(() => decodeEntry(new Uint8Array([0xff, 0xfe]))).toThrow('log entry is not valid UTF-8 (2 bytes)');
  });

  it('refuses values JSON cannot carry, naming where they are', () => {
    expect(() => canonicalStringify({ work: { amount: Number.NaN } })).toThrow('$.work.amount is NaN');
    expect(() => canonicalStringify({ work: undefined })).toThrow(
      '$.work is undefined; use null for an absent value',
    );
  });
});

describe('isoTime', () => {
  it('is what Date says, whatever second the previous call formatted', () => {
    const dateRange = fc.integer({ min: -8.64e15, max: 8.64e15 });
    const nearby = fc.tuple(dateRange, fc.integer({ min: -2_000, max: 2_000 }));
    fc.assert(
      fc.property(fc.array(nearby, { maxLength: 20 }), (pairs) => {
        for (const [base, offset] of pairs) {
          for (const epochMs of [base, base + offset]) {
            if (Math.abs(epochMs) > 8.64e15) continue;
            expect(isoTime(epochMs)).toBe(new Date(epochMs).toISOString());
          }
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
    expect(isoTime(-1)).toBe('1969-12-31T23:59:59.999Z');
    expect(isoTime(1_000)).toBe('1970-01-01T00:00:01.000Z');
  });
});

describe('snapshots', () => {
  function busyHarness(): Harness {
    const h = new Harness();
    h.lead();
    h.begin('tx1', ['bank-a', 'bank-b'], { idempotency: { key: 'k-1', fingerprint: 'f-1' } });
    h.commit();
    h.committing('tx2', ['bank-a']);
    h.preparing('tx3', ['bank-c', 'bank-d']);
    h.started('tx4', []);
    return h;
  }

  it('decodeSnapshot(encodeSnapshot(state)) has the same replicated state, and re-encodes to the same bytes', () => {
    const h = busyHarness();
    const encoded = encodeSnapshot(h.state);
    const restored = decodeSnapshot(encoded);
    expect(restored.replicated).toEqual(h.state.replicated);
    expect([...restored.replicated.idempotencyKeys.keys()]).toEqual([
      ...h.state.replicated.idempotencyKeys.keys(),
    ]);
    expect(restored.leader).toBeNull();
    expect(encodeSnapshot(restored)).toEqual(encoded);
  });

  it('writes the idempotency table fast and still canonically: the same bytes as encodeCanonical', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({
            key: fc.string({ unit: 'binary', maxLength: 40 }),
            fingerprint: fc.string({ unit: 'grapheme', maxLength: 70 }),
            txId,
            createdAtMs: epochMs,
          }),
          { selector: (recorded) => recorded.key, maxLength: 20 },
        ),
        (records) => {
          const h = busyHarness();
          for (const { key, ...recorded } of records) h.state.replicated.idempotencyKeys.add(key, recorded);
          const replicated = h.state.replicated;
          const canonical = encodeCanonical({
            v: SNAPSHOT_FORMAT_VERSION,
            appliedIndex: replicated.appliedIndex,
            appliedTerm: replicated.appliedTerm,
            transactions: [...replicated.transactions.values()],
            idempotencyKeys: [...replicated.idempotencyKeys].map(([key, recorded]) => ({ key, ...recorded })),
          });
          expect(text(encodeSnapshot(h.state))).toBe(text(canonical));
          expect(encodeSnapshot(decodeSnapshot(canonical))).toEqual(canonical);
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('encoded a slice at a time, holds the state of the moment it began, whatever is applied meanwhile', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 6 }),
        (keysBefore, perSlice, beginsMeanwhile) => {
          const h = busyHarness();
          for (let key = 0; key < keysBefore; key += 1) {
            h.begin(`tx${100 + key}`, ['bank-a'], {
              idempotency: { key: `b-${key}`, fingerprint: `f-${key}` },
            });
          }
          h.commit();
          const expected = encodeSnapshot(h.state);
          const encoding = new SnapshotEncoding(h.state);
          let done = false;
          for (let slice = 0; !done; slice += 1) {
            done = encoding.encode(perSlice);
            // Between slices the engine goes on applying: new transactions and keys, votes, a decision.
            if (slice < beginsMeanwhile) {
              h.begin(`tx${200 + slice}`, ['bank-a'], {
                idempotency: { key: `m-${slice}`, fingerprint: `g-${slice}` },
              });
              if (slice === 0) h.vote('tx3', 'bank-c', 'YES');
              if (slice === 1) h.vote('tx3', 'bank-d', 'YES');
              h.commit();
            }
          }
          expect(text(encoding.bytes())).toBe(text(expected));
          expect(encodeSnapshot(h.state)).not.toEqual(expected);
        },
      ),
      { seed: SEED, numRuns: 100 },
    );
  });

  it('leader memory is not in the snapshot: two nodes at one index give identical bytes', () => {
    const h = busyHarness();
    const follower = decodeSnapshot(encodeSnapshot(h.state));
    h.vote('tx3', 'bank-c', 'YES');
    expect(encodeSnapshot(follower)).toEqual(encodeSnapshot(h.state));
  });

  it('checks the invariants it reads: a DECIDED transaction without a decision is refused', () => {
    const h = busyHarness();
    const body = JSON.parse(text(encodeSnapshot(h.state))) as { transactions: { decision: unknown }[] };
    const decided = body.transactions[1];
    if (decided === undefined) throw new Error('expected a second transaction');
    decided.decision = null;
    expect(() => decodeSnapshot(bytes(JSON.stringify(body)))).toThrow(/is DECIDED with decision null/);
  });
});

itAuditedEveryEffectList(it, expect, { effectLists: 20, phaseTwoSends: 2 });
