import {
  BadGatewayException,
  ConflictException,
  GatewayTimeoutException,
  Inject,
  Injectable,
} from '@nestjs/common';
import {
  CoordinatorClient,
  CoordinatorRejectedError,
  CoordinatorUnavailableError,
  type BeginRequest,
} from '@verdict/participant';
import { OutcomeSchema, type Outcome } from '@verdict/protocol';
import { z } from 'zod';
import { AccountsService } from '../accounts/accounts.service';
import { problem, RetryLaterException } from '../http/problem-details';
import type { TransferWork } from '../ledger/transfer-work';
import { BANK_NAME } from '../tokens';
import type { TransferDto, TransferResponse } from './transfers.dto';

/**
 * What this bank reads from the coordinator's answer to commit: the decision, and each
 * participant's vote reason to explain an abort (DESIGN.md, "REST conventions").
 */
const DecidedTransactionSchema = z.looseObject({
  decision: z.looseObject({ outcome: OutcomeSchema }).nullish(),
  participants: z
    .array(z.looseObject({ name: z.string(), vote: z.string().nullish(), voteReason: z.string().nullish() }))
    .optional(),
});

const COORDINATOR_RETRY_AFTER_SECONDS = 2;
/** The coordinator's prepare deadline when the request names none (its default, DESIGN.md). */
const TRANSACTION_TIMEOUT_MS_DEFAULT = 10_000;
/** Commit answers once the decision is durable: after the prepare phase, plus replication. */
const COMMIT_WAIT_MARGIN_MS = 5_000;

@Injectable()
export class TransfersService {
  constructor(
    private readonly accounts: AccountsService,
    private readonly coordinator: CoordinatorClient,
    @Inject(BANK_NAME) private readonly bank: string,
  ) {}

  /**
   * Debits an account here and credits one in `toBank` atomically: one global transaction with a
   * participant per bank, committed by the coordinator. This bank's own share is prepared only
   * when the coordinator's PREPARE arrives, like every other participant's.
   */
  async transfer(request: TransferDto, idempotencyKey: string | undefined): Promise<TransferResponse> {
    await this.accounts.require(request.fromAccount);
    const intraBank = request.toBank === this.bank;
    if (intraBank) await this.accounts.require(request.toAccount);
    const debit = { account: request.fromAccount, amount: request.amount };
    const credit = { account: request.toAccount, amount: request.amount };
    const participants: { name: string; payload: TransferWork }[] = intraBank
      ? [{ name: this.bank, payload: { debit, credit } }]
      : [
          { name: this.bank, payload: { debit } },
          { name: request.toBank, payload: { credit } },
        ];
    const begin: BeginRequest = {
      participants,
      metadata: { kind: 'transfer', initiatedBy: this.bank },
      ...(request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs }),
    };

    let txId: string;
    try {
      txId = await this.coordinator.begin(begin, idempotencyKey);
    } catch (error) {
      throw coordinatorProblem(error);
    }
    let decided: unknown;
    try {
      decided = await this.coordinator.commit(
        txId,
        (request.timeoutMs ?? TRANSACTION_TIMEOUT_MS_DEFAULT) + COMMIT_WAIT_MARGIN_MS,
      );
    } catch (error) {
      if (error instanceof CoordinatorUnavailableError) {
        // The commit may have been decided anyway: say so rather than claim nothing moved.
        throw new GatewayTimeoutException(
          problem(
            'TRANSFER_IN_DOUBT',
            `transfer ${txId} was started but its outcome is unknown (${error.message}); look it up at the coordinator before retrying`,
            { txId },
          ),
        );
      }
      throw coordinatorProblem(error);
    }
    const outcome = outcomeOf(txId, decided);
    if (outcome.outcome === 'ABORT') {
      throw new ConflictException(
        problem(
          'TRANSFER_ABORTED',
          `transfer ${txId} was aborted${outcome.reasons.length > 0 ? `: ${outcome.reasons.join('; ')}` : ''}; no money moved`,
          { txId, reasons: outcome.reasons },
        ),
      );
    }
    return {
      txId,
      outcome: 'COMMIT',
      from: { bank: this.bank, account: request.fromAccount },
      to: { bank: request.toBank, account: request.toAccount },
      amount: request.amount,
    };
  }
}

function outcomeOf(txId: string, decided: unknown): { outcome: Outcome; reasons: string[] } {
  const parsed = DecidedTransactionSchema.safeParse(decided);
  const outcome = parsed.success ? parsed.data.decision?.outcome : undefined;
  if (!parsed.success || outcome === undefined) {
    // The coordinator answers commit only once the decision is durable: no decision is a broken answer.
    throw new BadGatewayException(
      problem(
        'COORDINATOR_BAD_ANSWER',
        `coordinator answered commit of ${txId} without a decision; ask it again`,
        {
          txId,
        },
      ),
    );
  }
  const reasons = (parsed.data.participants ?? [])
    .filter((participant) => participant.vote === 'NO')
    .map((participant) => `${participant.name} voted NO (${participant.voteReason ?? 'no reason given'})`);
  return { outcome, reasons };
}

function coordinatorProblem(error: unknown): unknown {
  if (error instanceof CoordinatorUnavailableError) {
    return new RetryLaterException(
      'COORDINATOR_UNAVAILABLE',
      `${error.message}; the transfer was not made, retry later`,
      COORDINATOR_RETRY_AFTER_SECONDS,
    );
  }
  if (error instanceof CoordinatorRejectedError) {
    return new BadGatewayException(
      problem('COORDINATOR_REJECTED', error.message, {
        coordinatorStatus: error.status,
        coordinator: error.problem,
      }),
    );
  }
  return error;
}
