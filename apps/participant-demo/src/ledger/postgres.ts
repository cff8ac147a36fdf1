import { TxIdSchema } from '@verdict/protocol';

/** PostgreSQL error codes this bank treats as answers rather than failures. */
export const PG_CHECK_VIOLATION = '23514';
export const PG_LOCK_NOT_AVAILABLE = '55P03';
export const PG_DUPLICATE_OBJECT = '42710';
export const PG_UNDEFINED_OBJECT = '42704';

/** The SQLSTATE of an error from pg, whether TypeORM wrapped it or not. */
export function pgCode(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return null;
  const { code, driverError } = error as { code?: unknown; driverError?: unknown };
  if (typeof code === 'string') return code;
  return driverError === undefined ? null : pgCode(driverError);
}

/**
 * The global transaction id of a PostgreSQL prepared transaction, as a SQL literal.
 * `PREPARE TRANSACTION` takes no bind parameters, so the gid is spliced into the SQL: the txId must
 * be a canonical UUID (hex digits and dashes only) before it gets anywhere near a statement.
 */
export function gidLiteral(txId: string): string {
  if (!TxIdSchema.safeParse(txId).success || !/^[0-9a-f-]{36}$/.test(txId)) {
    throw new Error(`refusing to build a prepared-transaction id from "${txId}": not a lowercase UUID`);
  }
  return `'${GID_PREFIX}${txId}'`;
}

export const GID_PREFIX = 'verdict:';
