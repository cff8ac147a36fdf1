import { Inject, Injectable, Logger } from '@nestjs/common';
import type {
  DecisionRequest,
  ParticipantService,
  PrepareRequest,
  PrepareResult,
} from '@verdict/participant';
import { DataSource, type QueryResult, type QueryRunner } from 'typeorm';
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

/** A leg applied to this bank: the signed change to one account. */
interface Movement {
  readonly account: string;
  readonly delta: number;
}

/**
 * The bank as a 2PC participant. PostgreSQL is the durable truth the SDK relies on after a crash:
 * a YES vote is a `PREPARE TRANSACTION 'verdict:<bank>:<txId>'` (it survives a crash of this
 * process and of the database), a commit leaves ledger entries carrying the txId and a row in
 * `transaction_claims`, an abort leaves a row in `aborted_transactions`. Every method checks that
 * state first, so each is idempotent by txId.
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

    const known = await this.durableState(request.txId);
    if (known === 'ABORTED') return { decided: 'ABORT' };
    if (known === 'COMMITTED') return { decided: 'COMMIT' };
    if (known === 'PREPARED') return { vote: 'YES' };

    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    let current: Movement | null = null;
    try {
      // One round trip: a query without parameters may hold several statements.
      await runner.query(`BEGIN; SET LOCAL lock_timeout = '${LOCK_TIMEOUT_MS}ms'`);
      // The claim makes a second prepare of the same txId (another instance of this bank, during a
      // consumer rebalance) wait for this one, then fail on the key if this one committed. The
      // abort record is read after the claim, so an abort that finished meanwhile is seen.
      await runner.query('INSERT INTO transaction_claims (tx_id) VALUES ($1)', [request.txId]);
      const [abortRecord] = await rows<{ tx_id: string }>(
        runner,
        'SELECT tx_id FROM aborted_transactions WHERE tx_id = $1',
        [request.txId],
      );
      if (abortRecord !== undefined) {
        await runner.query('ROLLBACK');
        return { decided: 'ABORT' };
      }
      for (const movement of movements) {
        current = movement;
        // The balance and its ledger entry in one statement (one round trip); no row back means no
        // such account. A balance below zero fails the UPDATE's check constraint.
        const entered = await rows<{ tx_id: string }>(
          runner,
          `WITH moved AS (UPDATE accounts SET balance = balance + $2::bigint WHERE id = $1 RETURNING id)
           INSERT INTO ledger_entries (tx_id, account_id, amount) SELECT $3::uuid, id, $2::bigint FROM moved RETURNING tx_id`,
          [movement.account, movement.delta, request.txId],
        );
        if (entered.length === 0) {
          await runner.query('ROLLBACK');
          return { vote: 'NO', reason: `unknown account ${movement.account}` };
        }
      }
      // From here the work survives a crash of this process, holding its row locks, until
      // COMMIT PREPARED or ROLLBACK PREPARED: that is the promise behind the YES.
      await runner.query(`PREPARE TRANSACTION ${gid}`);
      return { vote: 'YES' };
    } catch (error) {
      await rollbackQuietly(runner);
      switch (pgCode(error)) {
        case PG_CHECK_VIOLATION:
          return { vote: 'NO', reason: `insufficient funds in account ${current?.account ?? '?'}` };
        case PG_LOCK_NOT_AVAILABLE:
          return {
            vote: 'NO',
            reason:
              current === null
                ? `transaction ${request.txId} is being prepared by another instance of this bank (lock timeout ${LOCK_TIMEOUT_MS} ms)`
                : `account ${current.account} is locked by another transaction (lock timeout ${LOCK_TIMEOUT_MS} ms)`,
          };
        case PG_UNIQUE_VIOLATION:
          // Only the claim is unique here: the same transaction already committed in this bank.
          if (pgConstraint(error) === 'transaction_claims_pkey') return { decided: 'COMMIT' };
          throw error;
        case PG_DUPLICATE_OBJECT:
          // Another prepare of the same txId by this bank won the race: the work is held once.
          if ((await this.durableState(request.txId)) === 'PREPARED') return { vote: 'YES' };
          throw error;
        default:
          throw error;
      }
    } finally {
      await runner.release();
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

/** Rows of a statement run on `runner` (with RETURNING for writes), typed by the caller. */
async function rows<T>(runner: QueryRunner, sql: string, parameters: unknown[]): Promise<T[]> {
  // The structured result gives rows the same way for SELECT and UPDATE … RETURNING.
  const result = (await runner.query(sql, parameters, true)) as QueryResult<T>;
  return result.records;
}

/** Rows of a SELECT on any pooled connection, typed by the caller. */
async function select<T>(dataSource: DataSource, sql: string, parameters: unknown[]): Promise<T[]> {
  const result: unknown = await dataSource.query(sql, parameters);
  if (!Array.isArray(result)) throw new Error(`expected rows from: ${sql}`);
  return result as T[];
}

async function rollbackQuietly(runner: QueryRunner): Promise<void> {
  try {
    await runner.query('ROLLBACK');
  } catch {
    // Nothing to roll back (PREPARE TRANSACTION itself failed and ended the transaction).
  }
}
