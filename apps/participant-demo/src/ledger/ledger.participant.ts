import { Inject, Injectable, Logger } from '@nestjs/common';
import type {
  DecisionRequest,
  ParticipantService,
  PrepareRequest,
  PrepareResult,
} from '@verdict/participant';
import type { PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { BANK_NAME } from '../tokens';
import {
  gidLiteral,
  gidOf,
  gidPrefix,
  PG_CHECK_VIOLATION,
  PG_DUPLICATE_OBJECT,
  PG_LOCK_NOT_AVAILABLE,
  PG_UNDEFINED_OBJECT,
  PG_UNIQUE_VIOLATION,
  pgCode,
  pgConstraint,
} from './postgres';
import { TransferWorkSchema, type Leg } from './transfer-work';

/**
 * How long a prepare waits for a row lock before voting NO. Shorter than the SDK's prepare budget,
 * so a contended account produces a clear "lock timeout" vote rather than a budget overrun.
 */
export const LOCK_TIMEOUT_MS = 2_000;

/**
 * How long a prepare waits for the claim on its txId, which only a prepare of the same txId holds:
 * a PREPARE sent again while this bank holds the transaction prepared answers after this wait.
 */
export const CLAIM_LOCK_TIMEOUT_MS = 100;

const CLAIM = 'INSERT INTO transaction_claims (tx_id) VALUES ($1)';
const ABORTED = `SELECT EXISTS (SELECT 1 FROM aborted_transactions WHERE tx_id = $1) AS aborted,
  set_config('lock_timeout', $2, true)`;
const MOVE = `WITH moved AS (UPDATE accounts SET balance = balance + $2::bigint WHERE id = $1 RETURNING id)
  INSERT INTO ledger_entries (tx_id, account_id, amount) SELECT $3::uuid, id, $2::bigint FROM moved`;

/** A leg applied to this bank: the signed change to one account. */
interface Movement {
  readonly account: string;
  readonly delta: number;
}

/**
 * The bank as a 2PC participant. PostgreSQL is the durable truth the SDK relies on after a crash:
 * a YES vote is a `PREPARE TRANSACTION 'verdict:<bank>:<txId>'` (it survives a crash of this
 * process and of the database), a commit leaves ledger entries carrying the txId and a row in
 * `transaction_claims`, an abort leaves a row in `aborted_transactions`. Every method consults that
 * state (prepare through its claim on the txId), so each is idempotent by txId.
 */
@Injectable()
export class LedgerParticipant implements ParticipantService {
  private readonly logger = new Logger(LedgerParticipant.name);

  constructor(
    private readonly dataSource: DataSource,
    @Inject(BANK_NAME) private readonly bank: string,
  ) {}

  async prepare(request: PrepareRequest): Promise<PrepareResult> {
    const gid = gidLiteral(this.bank, request.txId);
    const parsed = TransferWorkSchema.safeParse(request.work ?? {});
    if (!parsed.success) {
      return {
        vote: 'NO',
        reason: `work is not a transfer: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`,
      };
    }
    const movements = movementsOf(parsed.data);
    // Nothing for this bank: it holds nothing and needs no phase two.
    if (movements.length === 0) return { vote: 'READ_ONLY' };

    const runner = this.dataSource.createQueryRunner();
    // The pooled pg client itself: its named statements are parsed and planned once per
    // connection, which TypeORM's query() cannot ask for. PostgreSQL's CPU is this bank's ceiling.
    const client = (await runner.connect()) as PoolClient;
    let result: PrepareResult | 'CLAIMED';
    try {
      result = await this.prepareOn(client, request.txId, movements, gid);
    } finally {
      await runner.release();
    }
    // Read on another connection, once this one is back in the pool: a prepare never holds two.
    return result === 'CLAIMED' ? this.answerForClaimed(request.txId) : result;
  }

  /** The work as one transaction on `client`, left prepared on YES; CLAIMED if another holds the txId. */
  private async prepareOn(
    client: PoolClient,
    txId: string,
    movements: readonly Movement[],
    gid: string,
  ): Promise<PrepareResult | 'CLAIMED'> {
    let current: Movement | null = null;
    try {
      // One round trip: a query without parameters may hold several statements.
      await client.query(`BEGIN; SET LOCAL lock_timeout = '${CLAIM_LOCK_TIMEOUT_MS}ms'`);
      // The claim is the first thing a prepare does. A txId this bank already committed fails on
      // its key. One held by a prepared transaction (a PREPARE sent again, or another instance of
      // this bank preparing it during a consumer rebalance) makes the claim wait: after a short
      // while the durable state says what to answer.
      await client.query({ name: 'ledger-claim', text: CLAIM, values: [txId] });
      // Read after the claim, so an abort that finished meanwhile is seen; the account locks below
      // may wait longer than the claim.
      const { rows } = await client.query<{ aborted: boolean }>({
        name: 'ledger-aborted',
        text: ABORTED,
        values: [txId, `${LOCK_TIMEOUT_MS}ms`],
      });
      if (rows[0]?.aborted === true) {
        await client.query('ROLLBACK');
        return { decided: 'ABORT' };
      }
      for (const movement of movements) {
        current = movement;
        // The balance and its ledger entry in one statement; no row back means no such account.
        // A balance below zero fails the UPDATE's check constraint.
        const entered = await client.query({
          name: 'ledger-move',
          text: MOVE,
          values: [movement.account, movement.delta, txId],
        });
        if (entered.rowCount === 0) {
          await client.query('ROLLBACK');
          return { vote: 'NO', reason: `unknown account ${movement.account}` };
        }
      }
      // From here the work survives a crash of this process, holding its row locks, until
      // COMMIT PREPARED or ROLLBACK PREPARED: that is the promise behind the YES.
      await client.query(`PREPARE TRANSACTION ${gid}`);
      return { vote: 'YES' };
    } catch (error) {
      await rollbackQuietly(client);
      switch (pgCode(error)) {
        case PG_CHECK_VIOLATION:
          return { vote: 'NO', reason: `insufficient funds in account ${current?.account ?? '?'}` };
        case PG_LOCK_NOT_AVAILABLE:
          if (current === null) return 'CLAIMED';
          return {
            vote: 'NO',
            reason: `account ${current.account} is locked by another transaction (lock timeout ${LOCK_TIMEOUT_MS} ms)`,
          };
        case PG_UNIQUE_VIOLATION:
          // Only the claim is unique here: the same transaction already committed in this bank.
          if (pgConstraint(error) === 'transaction_claims_pkey') return { decided: 'COMMIT' };
          throw error;
        case PG_DUPLICATE_OBJECT:
          // Another prepare of the same txId by this bank won the race to PREPARE TRANSACTION.
          return 'CLAIMED';
        default:
          throw error;
      }
    }
  }

  /** The claim on the txId is held by someone else: what this database already knows decides. */
  private async answerForClaimed(txId: string): Promise<PrepareResult> {
    switch (await this.durableState(txId)) {
      case 'PREPARED':
        return { vote: 'YES' };
      case 'COMMITTED':
        return { decided: 'COMMIT' };
      case 'ABORTED':
        return { decided: 'ABORT' };
      case 'UNKNOWN':
        return {
          vote: 'NO',
          reason: `transaction ${txId} is being prepared by another instance of this bank (claim wait ${CLAIM_LOCK_TIMEOUT_MS} ms)`,
        };
    }
  }

  async commit(request: DecisionRequest): Promise<void> {
    const finished = await this.finishPrepared(request.txId, 'COMMIT PREPARED');
    if (finished) return;
    const known = await this.durableState(request.txId);
    if (known === 'COMMITTED') return;
    if (known === 'ABORTED') {
      throw new Error(`COMMIT for transaction ${request.txId}, which this bank recorded as aborted`);
    }
    // No prepared transaction and no entries: a YES would have left one or the other (a prepared
    // transaction disappears only through COMMIT/ROLLBACK PREPARED), so this bank voted READ_ONLY.
    this.logger.warn(
      `COMMIT for ${request.txId}: nothing prepared or committed here; acknowledging as read-only`,
    );
  }

  async abort(request: DecisionRequest): Promise<void> {
    if ((await this.durableState(request.txId)) === 'COMMITTED') {
      throw new Error(`ABORT for transaction ${request.txId}, which this bank already committed`);
    }
    // Recorded before the rollback: after a crash in between, the prepared transaction is still
    // in doubt and recovery rolls it back; a late PREPARE is refused either way.
    await this.dataSource.query(
      'INSERT INTO aborted_transactions (tx_id, reason) VALUES ($1, $2) ON CONFLICT (tx_id) DO NOTHING',
      [request.txId, request.reason ?? null],
    );
    await this.finishPrepared(request.txId, 'ROLLBACK PREPARED');
  }

  async inDoubt(): Promise<readonly string[]> {
    const prepared = await select<{ gid: string }>(
      this.dataSource,
      `SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND gid LIKE $1 ORDER BY prepared`,
      [`${gidPrefix(this.bank)}%`],
    );
    return prepared.map(({ gid }) => gid.slice(gidPrefix(this.bank).length));
  }

  /** True when the prepared transaction existed and is now finished; false when there was none. */
  private async finishPrepared(
    txId: string,
    statement: 'COMMIT PREPARED' | 'ROLLBACK PREPARED',
  ): Promise<boolean> {
    try {
      await this.dataSource.query(`${statement} ${gidLiteral(this.bank, txId)}`);
      return true;
    } catch (error) {
      if (pgCode(error) === PG_UNDEFINED_OBJECT) return false;
      throw error;
    }
  }

  /** What this database knows of a global transaction, checked in the order a crash could leave it. */
  private async durableState(txId: string): Promise<'PREPARED' | 'COMMITTED' | 'ABORTED' | 'UNKNOWN'> {
    const [state] = await select<{ prepared: boolean; committed: boolean; aborted: boolean }>(
      this.dataSource,
      `SELECT
         EXISTS (SELECT 1 FROM pg_prepared_xacts WHERE database = current_database() AND gid = $1) AS prepared,
         EXISTS (SELECT 1 FROM ledger_entries WHERE tx_id = $2) AS committed,
         EXISTS (SELECT 1 FROM aborted_transactions WHERE tx_id = $2) AS aborted`,
      [gidOf(this.bank, txId), txId],
    );
    if (state?.prepared === true) return 'PREPARED';
    if (state?.committed === true) return 'COMMITTED';
    if (state?.aborted === true) return 'ABORTED';
    return 'UNKNOWN';
  }
}

function movementsOf(work: { debit?: Leg | undefined; credit?: Leg | undefined }): Movement[] {
  const movements: Movement[] = [];
  if (work.debit !== undefined) movements.push({ account: work.debit.account, delta: -work.debit.amount });
  if (work.credit !== undefined) movements.push({ account: work.credit.account, delta: work.credit.amount });
  return movements;
}

/** Rows of a SELECT on any pooled connection, typed by the caller. */
async function select<T>(dataSource: DataSource, sql: string, parameters: unknown[]): Promise<T[]> {
  const result: unknown = await dataSource.query(sql, parameters);
  if (!Array.isArray(result)) throw new Error(`expected rows from: ${sql}`);
  return result as T[];
}

async function rollbackQuietly(client: PoolClient): Promise<void> {
  try {
    await client.query('ROLLBACK');
  } catch {
    // Nothing to roll back (PREPARE TRANSACTION itself failed and ended the transaction).
  }
}
