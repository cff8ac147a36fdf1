import { describe, expect, it } from 'vitest';
import { AMOUNT_MINOR_MAX, TransferWorkSchema } from './transfer-work';

describe('transfer work (a participant payload)', () => {
  it('accepts a debit, a credit, both, or nothing (read-only for this bank)', () => {
    for (const work of [
      { debit: { account: 'alice', amount: 1 } },
      { credit: { account: 'bob', amount: AMOUNT_MINOR_MAX } },
      { debit: { account: 'alice', amount: 5 }, credit: { account: 'bob', amount: 5 } },
      {},
    ]) {
      expect(TransferWorkSchema.safeParse(work).success).toBe(true);
    }
  });

  it.each([
    ['a zero amount', { debit: { account: 'alice', amount: 0 } }],
    ['a fractional amount', { debit: { account: 'alice', amount: 1.5 } }],
    ['an amount over the maximum', { credit: { account: 'bob', amount: AMOUNT_MINOR_MAX + 1 } }],
    ['an account id with SQL in it', { debit: { account: "a'; --", amount: 1 } }],
    ['an unknown field', { debit: { account: 'alice', amount: 1 }, fee: 1 }],
  ])('rejects %s', (_name, work) => {
    expect(TransferWorkSchema.safeParse(work).success).toBe(false);
  });
});
