import { isParticipantName, TxIdSchema } from '@verdict/protocol';

/** PostgreSQL error codes this bank treats as answers rather than failures. */
export const PG_CHECK_VIOLATION = '23514';
export const PG_LOCK_NOT_AVAILABLE = '55P03';
export const PG_DUPLICATE_OBJECT = '42710';
export const PG_UNDEFINED_OBJECT = '42704';
export const PG_UNIQUE_VIOLATION = '23505';

/** The SQLSTATE of an error from pg, whether TypeORM wrapped it or not. */
export function pgCode(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return null;
  const { code, driverError } = error as { code?: unknown; driverError?: unknown };
  if (typeof code === 'string') return code;
  return driverError === undefined ? null : pgCode(driverError);
}

/**
 * Whether an error says the database cannot be reached now (server down, restarting, or the
 * connection lost), rather than that a statement failed: the request may succeed if tried again.
 */
export function databaseUnavailable(error: unknown): boolean {
  const code = pgCode(error);
  // SQLSTATE class 08 (connection exception) and 57P0x (shutdown, crash, not yet accepting).
  if (code !== null && (code.startsWith('08') || code.startsWith('57P') || NETWORK_CODES.has(code)))
    return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Connection is not established/i.test(
    message,
  );
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/** The constraint an integrity error names, whether TypeORM wrapped it or not. */
export function pgConstraint(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return null;
  const { constraint, driverError } = error as { constraint?: unknown; driverError?: unknown };
  if (typeof constraint === 'string') return constraint;
  return driverError === undefined ? null : pgConstraint(driverError);
}

/**
 * The gid of this bank's prepared transaction for a global transaction, as a SQL literal:
 * `'verdict:<bank>:<txId>'`. Gids are unique across the whole PostgreSQL server, not per
 * database, so two banks on one server must not both use `verdict:<txId>`.
 * `PREPARE TRANSACTION` takes no bind parameters, so the gid is spliced into the SQL: the bank
 * name and the txId are checked against strict patterns before they get anywhere near a statement.
 */
export function gidLiteral(bank: string, txId: string): string {
  return `'${gidOf(bank, txId)}'`;
}

export function gidOf(bank: string, txId: string): string {
  if (!isParticipantName(bank))
    throw new Error(`refusing to build a gid for bank "${bank}": not a participant name`);
  if (!TxIdSchema.safeParse(txId).success || !/^[0-9a-f-]{36}$/.test(txId)) {
    throw new Error(`refusing to build a gid from "${txId}": not a lowercase UUID`);
  }
  return `${gidPrefix(bank)}${txId}`;
}

/** Every gid of this bank starts with it: what `inDoubt()` looks for in `pg_prepared_xacts`. */
export function gidPrefix(bank: string): string {
  return `verdict:${bank}:`;
}
