import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { AccountIdParam, OpenAccountDto, type AccountResponse } from './accounts.dto';
import { AccountsService } from './accounts.service';

@Controller('accounts')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Post()
  open(@Body() request: OpenAccountDto): Promise<AccountResponse> {
    return this.accounts.open(request);
  }

  @Get()
  list(): Promise<AccountResponse[]> {
    return this.accounts.list();
  }

  @Get(':accountId')
  find(@Param() { accountId }: AccountIdParam): Promise<AccountResponse> {
    return this.accounts.find(accountId);
  }
}
