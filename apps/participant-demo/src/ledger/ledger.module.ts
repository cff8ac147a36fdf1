import { Module, type DynamicModule } from '@nestjs/common';
import { BANK_NAME } from '../tokens';
import { LedgerParticipant } from './ledger.participant';

/** The bank's participant side; the DataSource it uses comes from the global TypeORM module. */
@Module({})
export class LedgerModule {
  static forBank(bank: string): DynamicModule {
    return {
      module: LedgerModule,
      providers: [LedgerParticipant, { provide: BANK_NAME, useValue: bank }],
      exports: [LedgerParticipant, BANK_NAME],
    };
  }
}
