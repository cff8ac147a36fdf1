import { Body, Controller, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentActor, Roles } from './auth/auth.decorators';
import { COORDINATOR, type Actor, type CoordinatorPort } from './coordinator.port';
import { toResolution, toTransactionDto } from './dto/mappers';
import { ResolveTransactionDto, RetryTransactionDto, TxIdParam } from './dto/request.dto';
import { TransactionDto } from './dto/response.dto';
import { ApiProblems, LEADER_BOUND, WITH_BODY } from './openapi.decorators';

@ApiTags('admin')
@Roles('operator')
@Controller('v1/admin/transactions')
export class AdminController {
  constructor(@Inject(COORDINATOR) private readonly coordinator: CoordinatorPort) {}

  @Post(':txId/resolve')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Record a decision by hand (operator)',
    description:
      'For a stuck transaction. commit needs every YES vote known. Recorded with the operator and reason.',
  })
  @ApiOkResponse({ type: TransactionDto })
  @ApiProblems(
    ...LEADER_BOUND,
    ...WITH_BODY,
    'FORBIDDEN',
    'TX_NOT_FOUND',
    'DECISION_EXISTS',
    'RESOLVE_NOT_ALLOWED',
  )
  resolve(
    @Param() { txId }: TxIdParam,
    @Body() body: ResolveTransactionDto,
    @CurrentActor() actor: Actor,
  ): Promise<TransactionDto> {
    return this.coordinator.resolve(txId, toResolution(body), actor).then(toTransactionDto);
  }

  @Post(':txId/retry')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Re-send the pending phase now (operator)',
    description:
      'Re-sends PREPARE or the decision to every participant that has not answered. The body is optional; a reason, when given, is shown on the RETRY event of the timeline.',
  })
  @ApiBody({ type: RetryTransactionDto, required: false })
  @ApiOkResponse({ type: TransactionDto })
  @ApiProblems(...LEADER_BOUND, ...WITH_BODY, 'FORBIDDEN', 'TX_NOT_FOUND', 'TX_NOT_ACTIVE')
  retry(
    @Param() { txId }: TxIdParam,
    @Body() body: RetryTransactionDto,
    @CurrentActor() actor: Actor,
  ): Promise<TransactionDto> {
    return this.coordinator.retry(txId, body.reason ?? null, actor).then(toTransactionDto);
  }
}
