import { Module } from '@nestjs/common';
import { LedgerParticipant } from './ledger.participant';

/** The bank's participant side; the DataSource it uses comes from the global TypeORM module. */
@Module({ providers: [LedgerParticipant], exports: [LedgerParticipant] })
export class LedgerModule {}
