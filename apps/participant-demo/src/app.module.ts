import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  VerdictParticipantModule,
  type ParticipantKafkaOptions,
  type ParticipantOptions,
} from '@verdict/participant';
import { AccountsController } from './accounts/accounts.controller';
import { AccountsService } from './accounts/accounts.service';
import { HealthController } from './health/health.controller';
import { ledgerDataSourceOptions } from './ledger/data-source-options';
import { LedgerModule } from './ledger/ledger.module';
import { LedgerParticipant } from './ledger/ledger.participant';
import { TransfersController } from './transfers/transfers.controller';
import { TransfersService } from './transfers/transfers.service';

/** Everything one bank instance needs; main.ts reads it from the environment. */
export interface BankSettings {
  /** The bank's participant name, e.g. `bank-a`: its topic is `verdict.participant.<bank>`. */
  readonly bank: string;
  readonly databaseUrl: string;
  readonly kafkaBrokers: readonly string[];
  readonly coordinatorUrl: string;
  readonly apiKey?: string;
  /** SDK timings; the SDK's defaults when absent. */
  readonly participant?: Partial<
    Pick<
      ParticipantOptions,
      'prepareTimeoutMs' | 'recoveryIntervalMs' | 'outcomeQueryWaitMs' | 'inDoubtAfterMs'
    >
  > & { readonly kafka?: Omit<ParticipantKafkaOptions, 'brokers'> };
}

@Module({})
export class AppModule {
  static register(settings: BankSettings): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRoot(ledgerDataSourceOptions(settings.databaseUrl)),
        TerminusModule,
        LedgerModule.forBank(settings.bank),
        VerdictParticipantModule.forRootAsync({
          imports: [LedgerModule.forBank(settings.bank)],
          inject: [LedgerParticipant],
          useFactory: (ledger: LedgerParticipant): ParticipantOptions => ({
            ...settings.participant,
            name: settings.bank,
            service: ledger,
            kafka: { ...settings.participant?.kafka, brokers: settings.kafkaBrokers },
            coordinatorUrl: settings.coordinatorUrl,
            ...(settings.apiKey === undefined ? {} : { apiKey: settings.apiKey }),
          }),
        }),
      ],
      controllers: [AccountsController, TransfersController, HealthController],
      providers: [AccountsService, TransfersService],
    };
  }
}
