import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { PARTICIPANT_NAME_PATTERN, PARTICIPANT_NAME_RULE } from '@verdict/protocol';
import { ACCOUNT_ID_PATTERN, ACCOUNT_ID_RULE, AMOUNT_MINOR_MAX } from '../ledger/transfer-work';

/** Money out of an account of this bank, into an account of `toBank` (this bank or another). */
export class TransferDto {
  @IsString()
  @Matches(ACCOUNT_ID_PATTERN, { message: `fromAccount must use ${ACCOUNT_ID_RULE}` })
  fromAccount!: string;

  @IsString()
  @Matches(PARTICIPANT_NAME_PATTERN, {
    message: `toBank must be a participant name: ${PARTICIPANT_NAME_RULE}`,
  })
  toBank!: string;

  @IsString()
  @Matches(ACCOUNT_ID_PATTERN, { message: `toAccount must use ${ACCOUNT_ID_RULE}` })
  toAccount!: string;

  /** Minor units (cents). */
  @IsInt({ message: 'amount must be an integer number of cents' })
  @Min(1, { message: 'amount must be at least 1 cent' })
  @Max(AMOUNT_MINOR_MAX, { message: `amount must be at most ${AMOUNT_MINOR_MAX} cents` })
  amount!: number;

  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(600_000)
  timeoutMs?: number;
}

export interface TransferResponse {
  readonly txId: string;
  readonly outcome: 'COMMIT';
  readonly from: { readonly bank: string; readonly account: string };
  readonly to: { readonly bank: string; readonly account: string };
  readonly amount: number;
}
