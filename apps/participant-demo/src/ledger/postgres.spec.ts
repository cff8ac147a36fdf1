import { uuidv7 } from '@verdict/protocol';
import { describe, expect, it } from 'vitest';
import { gidLiteral, gidPrefix, pgCode } from './postgres';

describe('prepared-transaction gids', () => {
  const txId = uuidv7();

  it('names the bank and the transaction, so banks sharing a server never collide', () => {
    expect(gidLiteral('bank-a', txId)).toBe(`'verdict:bank-a:${txId}'`);
    expect(gidLiteral('bank-b', txId)).not.toBe(gidLiteral('bank-a', txId));
    expect(gidLiteral('bank-a', txId).slice(1)).toMatch(new RegExp(`^${gidPrefix('bank-a')}`));
  });

  it.each([
    ['a quote that would end the literal', "x'; DROP TABLE accounts; --"],
    ['an uppercase UUID', txId.toUpperCase()],
    ['a UUID with surrounding text', `${txId} `],
  ])('refuses a txId with %s before it reaches SQL', (_name, bad) => {
    expect(() => gidLiteral('bank-a', bad)).toThrow(/not a lowercase UUID/);
  });

  it('refuses a bank name that is not a participant name', () => {
    expect(() => gidLiteral("bank'a", txId)).toThrow(/not a participant name/);
  });
});

describe('pgCode', () => {
  it('finds the SQLSTATE on pg errors and on TypeORM-wrapped ones', () => {
    expect(pgCode({ code: '23514' })).toBe('23514');
    expect(pgCode({ driverError: { code: '55P03' } })).toBe('55P03');
    expect(pgCode(new Error('no code'))).toBeNull();
  });
});
