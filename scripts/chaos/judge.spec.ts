import { describe, expect, it } from 'vitest';
import { judge, type JudgedAttempt, type Ledger, type Observed, type TransactionView } from './judge.mjs';

const TX = '01a24e45-3a26-7c7d-a4f5-f05311153ffb';

function ledger(rows: Record<string, Record<string, number>> = {}): Ledger {
  const byTx = new Map(
    Object.entries(rows).map(([txId, accounts]) => [txId, new Map(Object.entries(accounts))]),
  );
  const sums = new Map<string, number>([['acct-1', 1_000]]);
  for (const accounts of byTx.values()) {
    for (const [account, amount] of accounts) sums.set(account, (sums.get(account) ?? 0) + amount);
  }
  return {
    rows: byTx,
    known: new Set([TX, ...byTx.keys()]),
    balances: new Map(sums),
    ledgerSums: sums,
    prepared: [],
  };
}

function observed(overrides: Partial<Observed>): Observed {
  return {
    bankNames: ['bank-a', 'bank-b'],
    ledgers: [ledger(), ledger()],
    views: new Map(),
    unanswered: new Map(),
    attempts: [],
    openingTotal: 2_000,
    ...overrides,
  };
}

function attempt(reported: JudgedAttempt['reported']): JudgedAttempt {
  return {
    legs: [
      { bank: 'bank-a', account: 'acct-1', delta: -5 },
      { bank: 'bank-b', account: 'acct-1', delta: 5 },
    ],
    unpayable: false,
    reported,
    txId: TX,
    contradiction: null,
  };
}

const aborted: TransactionView = {
  state: 'ABORTED',
  decision: { outcome: 'ABORT', reason: 'bank-a voted NO' },
  participants: [
    { name: 'bank-a', vote: 'NO', ack: false },
    { name: 'bank-b', vote: 'YES', ack: true },
  ],
};

describe('the chaos verdict', () => {
  it('accepts a transaction the coordinator has no record of when no bank committed it: presumed abort', () => {
    // A leader sent PREPARE with the BEGIN and died before the entry committed; the banks asked
    // and rolled back, and the client never heard an outcome.
    const views = new Map([[TX, null]]);
    expect(judge(observed({ views, attempts: [attempt('NO_ANSWER')] }))).toEqual([]);
  });

  it('convicts committed work the coordinator has no record of', () => {
    const views = new Map([[TX, null]]);
    const ledgers = [ledger({ [TX]: { 'acct-1': -5 } }), ledger({ [TX]: { 'acct-1': 5 } })];
    expect(judge(observed({ views, ledgers }))).toEqual([
      { txId: TX, what: 'ledger rows in bank-a, bank-b, but the coordinator has no record of it' },
    ]);
  });

  it('convicts an outcome a client heard for a transaction the coordinator has no record of', () => {
    const views = new Map([[TX, null]]);
    expect(judge(observed({ views, attempts: [attempt('ABORT')] }))).toEqual([
      { txId: TX, what: 'the client was told ABORT, but the coordinator has no record of it' },
    ]);
  });

  it('convicts a decision the ledgers contradict, and passes one they agree with', () => {
    const views = new Map([[TX, aborted]]);
    expect(judge(observed({ views, attempts: [attempt('ABORT')] }))).toEqual([]);
    const ledgers = [ledger({ [TX]: { 'acct-1': -5 } }), ledger({ [TX]: { 'acct-1': 5 } })];
    expect(judge(observed({ views, ledgers, attempts: [attempt('ABORT')] }))).toEqual([
      { txId: TX, what: 'coordinator says ABORT but ledger rows are in 2 of 2 banks' },
      { txId: TX, what: 'reported aborted, but the ledgers hold bank-a/acct-1 -5, bank-b/acct-1 5' },
    ]);
  });
});
