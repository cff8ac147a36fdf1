// What a chaos run concludes once everything has healed, from what it read: the coordinator's
// view of every transaction, each bank's ledger, and what the clients were told. Pure, so the
// rules are tested on their own (judge.spec.ts).

export type Reported = 'COMMIT' | 'ABORT' | 'IN_DOUBT' | 'NOT_STARTED' | 'NO_ANSWER';

/** One account's signed share of a transaction: negative is a debit. */
export interface Leg {
  readonly bank: string;
  readonly account: string;
  readonly delta: number;
}

export interface TransactionView {
  readonly state: string;
  readonly decision: { readonly outcome: string; readonly reason: string } | null;
  readonly participants: readonly {
    readonly name: string;
    readonly vote: string | null;
    readonly ack: boolean;
  }[];
}

export interface Violation {
  readonly txId: string | null;
  readonly what: string;
}

export interface Ledger {
  /** tx id → account → amount, of the rows written by global transactions. */
  readonly rows: Map<string, Map<string, number>>;
  /** tx ids this bank has heard of: ledger rows, claims, recorded aborts. */
  readonly known: Set<string>;
  readonly balances: Map<string, number>;
  /** account → sum of all its ledger rows, opening deposit included. */
  readonly ledgerSums: Map<string, number>;
  readonly prepared: string[];
}

/** What the verdict needs of a client's attempt. */
export interface JudgedAttempt {
  readonly legs: readonly Leg[];
  /** The debit is more than all the money there is: the debited bank must vote NO. */
  readonly unpayable: boolean;
  readonly reported: Reported;
  readonly txId: string | null;
  /** Two answers about one transaction that cannot both be true (commit and abort both won). */
  readonly contradiction: string | null;
}

export interface Observed {
  /** Aligned with `ledgers`. */
  readonly bankNames: readonly string[];
  readonly ledgers: readonly Ledger[];
  /** Every transaction a bank or client knows: the coordinator's view, null for a 404. */
  readonly views: ReadonlyMap<string, TransactionView | null>;
  /** Reads answered with neither 200 nor 404, with the last status. */
  readonly unanswered: ReadonlyMap<string, number>;
  readonly attempts: readonly JudgedAttempt[];
  /** All accounts' opening balances together: what the banks must still hold in all. */
  readonly openingTotal: number;
}

export function judge({
  bankNames,
  ledgers,
  views,
  unanswered,
  attempts,
  openingTotal,
}: Observed): Violation[] {
  const violations: Violation[] = [];
  const bankIndex = new Map(bankNames.map((name, position) => [name, position]));
  const rowsOf = (bankName: string, txId: string): Map<string, number> | undefined =>
    ledgers[bankIndex.get(bankName) ?? -1]?.rows.get(txId);
  for (const [txId, status] of unanswered) {
    if (views.has(txId)) continue;
    violations.push({ txId, what: `the coordinator never answered a read of it (last: HTTP ${status})` });
  }
  for (const [txId, view] of views) {
    if (view === null) {
      // A leader sends PREPARE with the proposal that records the transaction; if it died before
      // that entry committed, the banks it reached hold a transaction no coordinator recorded,
      // and presumed abort answers them ABORT. Only committed work without a record is wrong.
      const committedAt = bankNames.filter((name) => rowsOf(name, txId) !== undefined);
      if (committedAt.length > 0) {
        violations.push({
          txId,
          what: `ledger rows in ${committedAt.join(', ')}, but the coordinator has no record of it`,
        });
      }
      continue;
    }
    const withRows = view.participants.filter((participant) => rowsOf(participant.name, txId) !== undefined);
    const outcome = view.decision?.outcome ?? 'NONE';
    if (withRows.length !== 0 && withRows.length !== view.participants.length) {
      violations.push({
        txId,
        what: `not atomic: ledger rows in ${withRows.map((each) => each.name).join(', ')} only (coordinator: ${view.state}/${outcome})`,
      });
    }
    // Votes are not in the Raft log: a leader that took over knows the decision but not the votes
    // (null), so only a vote known to be something else than YES convicts. The bank-side check of
    // the same rule is the unpayable transfers below.
    const notYes = view.participants.filter(
      (participant) => participant.vote !== null && !['YES', 'READ_ONLY'].includes(participant.vote),
    );
    if (outcome === 'COMMIT' && notYes.length > 0) {
      violations.push({
        txId,
        what: `COMMIT with a vote other than YES from ${notYes.map((each) => `${each.name} (${String(each.vote)})`).join(', ')}`,
      });
    }
    if (!['COMMITTED', 'ABORTED'].includes(view.state)) {
      violations.push({ txId, what: `never finished: coordinator state ${view.state}/${outcome}` });
    } else if ((outcome === 'COMMIT') !== withRows.length > 0) {
      violations.push({
        txId,
        what: `coordinator says ${outcome} but ledger rows are in ${withRows.length} of ${view.participants.length} banks`,
      });
    }
  }
  for (const attempt of attempts) {
    if (attempt.txId === null) continue;
    const txId = attempt.txId;
    const held = attempt.legs.map((leg) => rowsOf(leg.bank, txId)?.get(leg.account));
    const describe = (): string =>
      attempt.legs.map((leg, position) => `${leg.bank}/${leg.account} ${String(held[position])}`).join(', ');
    if (attempt.contradiction !== null) violations.push({ txId, what: attempt.contradiction });
    if (attempt.reported === 'COMMIT' && attempt.legs.some((leg, position) => held[position] !== leg.delta)) {
      violations.push({ txId, what: `reported committed, but the ledgers hold ${describe()}` });
    }
    // The debited bank must vote NO on more money than exists: such a transfer never commits.
    if (
      attempt.unpayable &&
      (views.get(txId)?.decision?.outcome === 'COMMIT' || held.some((rows) => rows !== undefined))
    ) {
      violations.push({
        txId,
        what: `committed a transfer its debited bank had to vote NO on (${describe()})`,
      });
    }
    if (attempt.reported === 'ABORT' && held.some((rows) => rows !== undefined)) {
      violations.push({ txId, what: `reported aborted, but the ledgers hold ${describe()}` });
    }
    // A decision the client heard was recorded: no record of it now means history lost it.
    if ((attempt.reported === 'COMMIT' || attempt.reported === 'ABORT') && views.get(txId) === null) {
      violations.push({
        txId,
        what: `the client was told ${attempt.reported}, but the coordinator has no record of it`,
      });
    }
    const outcome = views.get(txId)?.decision?.outcome;
    // An unanswered transaction is already a violation above; this compares decisions.
    if (
      views.get(txId) &&
      (attempt.reported === 'COMMIT' || attempt.reported === 'ABORT') &&
      outcome !== attempt.reported
    ) {
      violations.push({
        txId,
        what: `the client was told ${attempt.reported}, the coordinator says ${String(outcome)}`,
      });
    }
  }
  let total = 0;
  for (const [position, ledger] of ledgers.entries()) {
    const bank = bankNames[position] ?? '?';
    for (const gid of ledger.prepared)
      violations.push({ txId: null, what: `${bank}: still prepared: ${gid}` });
    for (const [account, balance] of ledger.balances) {
      total += balance;
      if (balance < 0)
        violations.push({ txId: null, what: `${bank}/${account}: negative balance ${balance}` });
      if (ledger.ledgerSums.get(account) !== balance) {
        violations.push({
          txId: null,
          what: `${bank}/${account}: balance ${balance} but its ledger rows sum to ${String(ledger.ledgerSums.get(account))}`,
        });
      }
    }
  }
  if (total !== openingTotal)
    violations.push({ txId: null, what: `money not conserved: ${total} instead of ${openingTotal}` });
  return violations;
}
