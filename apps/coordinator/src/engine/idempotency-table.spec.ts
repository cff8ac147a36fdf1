import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantViolation } from './assert';
import { IdempotencyTable } from './idempotency-table';
import type { IdempotencyRecord } from './state';

const SEED = 20261207;

function recorded(txId: string, createdAtMs: number): IdempotencyRecord {
  return { fingerprint: `sha256:${txId}`, txId, createdAtMs };
}

describe('IdempotencyTable', () => {
  it('keeps keys in the order they were added and evicts the oldest past the count', () => {
    const table = new IdempotencyTable();
    for (const [n, key] of ['a', 'b', 'c', 'd'].entries()) table.add(key, recorded(`tx-${key}`, n));
    table.evict(2, 0);
    expect([...table.keys()]).toEqual(['c', 'd']);
    expect(table.size).toBe(2);
    expect(table.get('a')).toBeUndefined();
    expect(table.has('b')).toBe(false);
    expect(table.get('c')).toEqual(recorded('tx-c', 2));
  });

  it('evicts the oldest recorded before the horizon, and stops at the first one after it', () => {
    const table = new IdempotencyTable();
    table.add('a', recorded('tx-a', 10));
    table.add('b', recorded('tx-b', 30));
    table.add('c', recorded('tx-c', 20));
    table.evict(10, 25);
    // Log order, not time order: c is older than the horizon but behind b, which is not.
    expect([...table.keys()]).toEqual(['b', 'c']);
  });

  it('empties, then takes keys again, including evicted ones', () => {
    const table = new IdempotencyTable();
    table.add('a', recorded('tx-a', 1));
    table.add('b', recorded('tx-b', 2));
    table.evict(0, 0);
    expect(table.size).toBe(0);
    expect([...table]).toEqual([]);
    table.add('b', recorded('tx-b2', 3));
    table.add('a', recorded('tx-a2', 4));
    expect([...table]).toEqual([
      ['b', recorded('tx-b2', 3)],
      ['a', recorded('tx-a2', 4)],
    ]);
    expect([...table.values()].map((each) => each.txId)).toEqual(['tx-b2', 'tx-a2']);
  });

  it('refuses a key it already holds', () => {
    const table = new IdempotencyTable();
    table.add('a', recorded('tx-a', 1));
    expect(() => table.add('a', recorded('tx-other', 2))).toThrow(InvariantViolation);
    expect(table.get('a')).toEqual(recorded('tx-a', 1));
  });

  it('behaves as an insertion-ordered Map that drops from its start', () => {
    const operation = fc.oneof(
      fc.record({ add: fc.constantFrom('k0', 'k1', 'k2', 'k3', 'k4', 'k5'), atMs: fc.nat(100) }),
      fc.record({ keysMax: fc.nat(6), horizonMs: fc.nat(100) }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
        const table = new IdempotencyTable();
        const model = new Map<string, IdempotencyRecord>();
        for (const each of operations) {
          if ('add' in each) {
            if (model.has(each.add)) continue;
            table.add(each.add, recorded(`tx-${each.add}`, each.atMs));
            model.set(each.add, recorded(`tx-${each.add}`, each.atMs));
          } else {
            table.evict(each.keysMax, each.horizonMs);
            for (const [key, value] of model) {
              if (model.size <= each.keysMax && value.createdAtMs >= each.horizonMs) break;
              model.delete(key);
            }
          }
          expect([...table]).toEqual([...model]);
          expect(table.size).toBe(model.size);
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});
