import type { DataSourceOptions } from 'typeorm';
import { AbortedTransaction } from './entities/aborted-transaction.entity';
import { Account } from './entities/account.entity';
import { LedgerEntry } from './entities/ledger-entry.entity';
import { CreateLedger1764064800000 } from './migrations/1764064800000-create-ledger';

/** The bank's database: schema only through migrations, which run at start. */
export function ledgerDataSourceOptions(databaseUrl: string): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    entities: [Account, LedgerEntry, AbortedTransaction],
    migrations: [CreateLedger1764064800000],
    migrationsRun: true,
    migrationsTransactionMode: 'each',
    synchronize: false,
    poolSize: 10,
    connectTimeoutMS: 10_000,
  };
}
