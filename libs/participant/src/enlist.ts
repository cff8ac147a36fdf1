import { TxIdSchema } from '@verdict/protocol';
import type { CoordinatorClient } from './coordinator-client';

/** The HTTP header that carries the global transaction a request works inside. */
export const TRANSACTION_HEADER = 'verdict-transaction';

export class InvalidTransactionHeaderError extends Error {
  override readonly name = 'InvalidTransactionHeaderError';
}

export type IncomingHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * The transaction id a request carries in `Verdict-Transaction`, or null when it carries none.
 * A present but malformed header is an error, not "no transaction": silently working outside the
 * caller's transaction would break its atomicity.
 */
export function transactionIdFrom(headers: IncomingHeaders): string | null {
  const raw = headers[TRANSACTION_HEADER];
  if (raw === undefined) return null;
  const values = typeof raw === 'string' ? [raw] : raw;
  if (values.length !== 1) {
    throw new InvalidTransactionHeaderError(
      `${TRANSACTION_HEADER} must appear once, got ${values.length} values`,
    );
  }
  const txId = (values[0] ?? '').trim();
  if (!TxIdSchema.safeParse(txId).success) {
    throw new InvalidTransactionHeaderError(
      `${TRANSACTION_HEADER} must be a transaction id (a UUID), got "${txId}"`,
    );
  }
  return txId.toLowerCase();
}

/**
 * Enlists `participant` in the transaction named by the request's `Verdict-Transaction` header
 * (`POST /v1/transactions/{id}/participants`). Returns the transaction id, or null when the request
 * is not part of a transaction. Throws `CoordinatorUnavailableError` / `CoordinatorRejectedError`
 * (e.g. TX_NOT_ACTIVE) from the coordinator.
 */
export async function enlistFromHeaders(
  headers: IncomingHeaders,
  coordinator: CoordinatorClient,
  participant: { name: string; payload?: unknown },
): Promise<string | null> {
  const txId = transactionIdFrom(headers);
  if (txId === null) return null;
  await coordinator.enlist(txId, participant);
  return txId;
}
