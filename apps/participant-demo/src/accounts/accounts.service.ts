import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { problem } from '../http/problem-details';
import { PG_UNIQUE_VIOLATION, pgCode } from '../ledger/postgres';
import { Account } from '../ledger/entities/account.entity';
import { LedgerEntry } from '../ledger/entities/ledger-entry.entity';
import { toAccountResponse, type AccountResponse, type OpenAccountDto } from './accounts.dto';

@Injectable()
export class AccountsService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Opens an account; a positive opening balance is booked as a ledger entry of no transaction. */
  async open(request: OpenAccountDto): Promise<AccountResponse> {
    try {
      await this.dataSource.transaction(async (manager) => {
        // insert, not save: save() updates a row that exists, which would reset an existing
        // account's balance to the opening balance instead of refusing a second open.
        await manager.insert(Account, { id: request.id, balance: String(request.openingBalance) });
        if (request.openingBalance > 0) {
          await manager.insert(LedgerEntry, {
            txId: null,
            accountId: request.id,
            amount: String(request.openingBalance),
          });
        }
      });
      return toAccountResponse(
        await this.dataSource.getRepository(Account).findOneByOrFail({ id: request.id }),
      );
    } catch (error) {
      if (pgCode(error) === PG_UNIQUE_VIOLATION) {
        throw new ConflictException(
          problem('ACCOUNT_EXISTS', `account ${request.id} already exists; pick another id`, {
            account: request.id,
          }),
        );
      }
      throw error;
    }
  }

  async find(accountId: string): Promise<AccountResponse> {
    return toAccountResponse(await this.require(accountId));
  }

  async list(): Promise<AccountResponse[]> {
    const accounts = await this.dataSource.getRepository(Account).find({ order: { id: 'ASC' }, take: 500 });
    return accounts.map(toAccountResponse);
  }

  /** The account, or a 404 naming it. */
  async require(accountId: string): Promise<Account> {
    const account = await this.dataSource.getRepository(Account).findOneBy({ id: accountId });
    if (account === null) {
      throw new NotFoundException(
        problem('ACCOUNT_NOT_FOUND', `account ${accountId} does not exist in this bank; open it first`, {
          account: accountId,
        }),
      );
    }
    return account;
  }
}
