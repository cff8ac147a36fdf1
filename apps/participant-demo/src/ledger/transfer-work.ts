import { z } from 'zod';

export const ACCOUNT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const ACCOUNT_ID_RULE = 'lowercase letters, digits, dashes and underscores, at most 64 characters';

/** Largest amount of one transfer, in minor units: keeps every balance a safe JavaScript integer. */
export const AMOUNT_MINOR_MAX = 1_000_000_000_000;

const LegSchema = z.strictObject({
  account: z.string().regex(ACCOUNT_ID_PATTERN, `account: ${ACCOUNT_ID_RULE}`),
  amount: z.int().positive().max(AMOUNT_MINOR_MAX),
});

/**
 * What this bank is asked to do inside a global transaction (the participant payload given at
 * begin): take money out of one of its accounts, put money into one, or both.
 */
export const TransferWorkSchema = z.strictObject({
  debit: LegSchema.optional(),
  credit: LegSchema.optional(),
});

export type TransferWork = z.infer<typeof TransferWorkSchema>;
export type Leg = z.infer<typeof LegSchema>;
