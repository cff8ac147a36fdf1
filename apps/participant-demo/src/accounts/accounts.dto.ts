import { IsInt, IsString, Matches, Max, Min } from 'class-validator';
import type { Account } from '../ledger/entities/account.entity';
import { ACCOUNT_ID_PATTERN, ACCOUNT_ID_RULE, AMOUNT_MINOR_MAX } from '../ledger/transfer-work';

export class OpenAccountDto {
  @IsString()
  @Matches(ACCOUNT_ID_PATTERN, { message: `id must use ${ACCOUNT_ID_RULE}` })
  id!: string;

  /** Minor units (cents). */
  @IsInt({ message: 'openingBalance must be an integer number of cents' })
  @Min(0)
  @Max(AMOUNT_MINOR_MAX)
  openingBalance!: number;
}

export class AccountIdParam {
  @IsString()
  @Matches(ACCOUNT_ID_PATTERN, { message: `account id must use ${ACCOUNT_ID_RULE}` })
  accountId!: string;
}

export interface AccountResponse {
  readonly id: string;
  /** Minor units (cents). */
  readonly balance: number;
  readonly createdAt: string;
}

export function toAccountResponse(account: Account): AccountResponse {
  return { id: account.id, balance: Number(account.balance), createdAt: account.createdAt.toISOString() };
}
