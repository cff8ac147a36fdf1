import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CoordinatorError } from './coordinator.error';
import { COORDINATOR, type CoordinatorPort } from './coordinator.port';
import {
  toBeginInput,
  toListFilter,
  toOutcomeDto,
  toParticipantInput,
  toTransactionDto,
  toTransactionPageDto,
} from './dto/mappers';
import {
  BeginTransactionDto,
  CommitQueryDto,
  ListTransactionsQueryDto,
  ParticipantDto,
  TxIdParam,
} from './dto/request.dto';
import { OutcomeDto, TransactionDto, TransactionPageDto } from './dto/response.dto';
import { ApiIdempotencyKey, IdempotencyKey } from './idempotency-key.decorator';
import { ApiProblems, LEADER_BOUND, WITH_BODY } from './openapi.decorators';

@ApiTags('transactions')
@Controller('v1/transactions')
export class TransactionsController {
  constructor(@Inject(COORDINATOR) private readonly coordinator: CoordinatorPort) {}

  @Post()
  @ApiOperation({
    summary: 'Begin a transaction',
    description:
      'Answers once the BEGIN entry is durable. With commit set, also runs two-phase commit and answers like the commit call: one request for a transaction whose participants and work are known at begin.',
  })
  @ApiIdempotencyKey()
  // Every field has a default, so no body at all is a transaction with none of them set.
  @ApiBody({ type: BeginTransactionDto, required: false })
  @ApiCreatedResponse({ type: TransactionDto })
  @ApiProblems(...LEADER_BOUND, ...WITH_BODY, 'IDEMPOTENCY_MISMATCH', 'PARTICIPANT_UNAVAILABLE')
  async begin(
    @Body() body: BeginTransactionDto,
    @IdempotencyKey() key: string | undefined,
  ): Promise<TransactionDto> {
    const wait = body.commit;
    if (wait !== undefined && (body.participants ?? []).length === 0) {
      // The engine refuses it too; here it is answered like any other body rule, before any call.
      throw new CoordinatorError(
        {
          code: 'VALIDATION_FAILED',
          errors: [{ field: 'participants', messages: ['must not be empty when commit is set'] }],
        },
        'commit needs the participants at begin; name them in participants, or leave commit out and enlist them later',
      );
    }
    return toTransactionDto(await this.coordinator.begin(toBeginInput(body), key));
  }

  @Post(':txId/participants')
  @ApiOperation({ summary: 'Enlist a participant', description: 'Only while the transaction is ACTIVE.' })
  @ApiCreatedResponse({ type: TransactionDto })
  @ApiProblems(
    ...LEADER_BOUND,
    ...WITH_BODY,
    'TX_NOT_FOUND',
    'TX_NOT_ACTIVE',
    'PARTICIPANT_ALREADY_ENLISTED',
    'PARTICIPANT_LIMIT_REACHED',
  )
  enlist(@Param() { txId }: TxIdParam, @Body() body: ParticipantDto): Promise<TransactionDto> {
    return this.coordinator.enlist(txId, toParticipantInput(body)).then(toTransactionDto);
  }

  @Post(':txId/commit')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Run two-phase commit',
    description:
      'Answers once the decision is durable in the Raft log (wait=completion: once every participant acknowledged it). The decision may be ABORT: read decision.outcome.',
  })
  @ApiOkResponse({ type: TransactionDto })
  @ApiProblems(...LEADER_BOUND, 'TX_NOT_FOUND', 'TX_NOT_ACTIVE', 'PARTICIPANT_UNAVAILABLE')
  commit(@Param() { txId }: TxIdParam, @Query() query: CommitQueryDto): Promise<TransactionDto> {
    return this.coordinator.commit(txId, query.wait ?? 'decision').then(toTransactionDto);
  }

  @Post(':txId/abort')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Roll back',
    description: 'While ACTIVE or PREPARING; answers once ABORT is durable.',
  })
  @ApiOkResponse({ type: TransactionDto })
  @ApiProblems(...LEADER_BOUND, 'TX_NOT_FOUND', 'DECISION_EXISTS')
  abort(@Param() { txId }: TxIdParam): Promise<TransactionDto> {
    return this.coordinator.abort(txId).then(toTransactionDto);
  }

  @Get(':txId')
  @ApiOperation({ summary: 'Read a transaction (linearizable)' })
  @ApiOkResponse({ type: TransactionDto })
  @ApiProblems(...LEADER_BOUND, 'TX_NOT_FOUND')
  get(@Param() { txId }: TxIdParam): Promise<TransactionDto> {
    return this.coordinator.get(txId).then(toTransactionDto);
  }

  @Get(':txId/outcome')
  @ApiOperation({
    summary: 'Outcome for a prepared participant',
    description:
      'outcome is null while undecided. Presumed abort: an id the cluster has no record of is answered ABORT with presumed=true.',
  })
  @ApiOkResponse({ type: OutcomeDto })
  @ApiProblems(...LEADER_BOUND)
  outcome(@Param() { txId }: TxIdParam): Promise<OutcomeDto> {
    return this.coordinator.outcome(txId).then(toOutcomeDto);
  }

  @Get()
  @ApiOperation({ summary: 'List transactions, newest first' })
  @ApiOkResponse({ type: TransactionPageDto })
  @ApiProblems(...LEADER_BOUND)
  list(@Query() query: ListTransactionsQueryDto): Promise<TransactionPageDto> {
    return this.coordinator.list(toListFilter(query)).then(toTransactionPageDto);
  }
}
