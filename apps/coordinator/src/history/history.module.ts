import { ConfigurableModuleBuilder, Module } from '@nestjs/common';
import { Archiver, type ArchiverOptions } from './archiver';
import { HistoryDatabase, type HistoryDatabaseOptions } from './history-database';
import { HISTORY_STORE, type HistoryStore } from './history-store';
import { PostgresHistoryStore } from './postgres-history-store';

export interface HistoryModuleOptions {
  readonly database: HistoryDatabaseOptions;
  readonly archiver: ArchiverOptions;
}

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } =
  new ConfigurableModuleBuilder<HistoryModuleOptions>().setClassMethodName('forRoot').build();

/**
 * The PostgreSQL archive of finished transactions. Exports the `HistoryStore` port (reads and
 * idempotent writes), the `Archiver` (the only writer the engine host should use) and the
 * `HistoryDatabase` (connection state, for health checks).
 *
 * `HistoryModule.forRoot({ database, archiver })` or `forRootAsync({ useFactory, inject })`.
 */
@Module({
  providers: [
    {
      provide: HistoryDatabase,
      inject: [MODULE_OPTIONS_TOKEN],
      useFactory: (options: HistoryModuleOptions) => new HistoryDatabase(options.database),
    },
    {
      provide: HISTORY_STORE,
      inject: [HistoryDatabase],
      useFactory: (database: HistoryDatabase): HistoryStore => new PostgresHistoryStore(database),
    },
    {
      provide: Archiver,
      inject: [HISTORY_STORE, MODULE_OPTIONS_TOKEN],
      useFactory: (store: HistoryStore, options: HistoryModuleOptions) =>
        new Archiver(store, options.archiver),
    },
  ],
  exports: [HISTORY_STORE, Archiver, HistoryDatabase],
})
export class HistoryModule extends ConfigurableModuleClass {}
