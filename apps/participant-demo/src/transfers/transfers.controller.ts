import { Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import { TransferDto, type TransferResponse } from './transfers.dto';
import { TransfersService } from './transfers.service';

@Controller('transfers')
export class TransfersController {
  constructor(private readonly transfers: TransfersService) {}

  @Post()
  @HttpCode(201)
  transfer(
    @Body() request: TransferDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
  ): Promise<TransferResponse> {
    return this.transfers.transfer(request, idempotencyKey);
  }
}
