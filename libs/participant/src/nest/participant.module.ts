import {
  Inject,
  Injectable,
  Logger,
  Module,
  type DynamicModule,
  type FactoryProvider,
  type ModuleMetadata,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { CoordinatorClient } from '../coordinator-client';
import { participantSettings, type ParticipantOptions } from '../options';
import { startParticipant, type ParticipantHandle } from '../participant';
import type { ParticipantLogger } from '../service';
import { EnlistInterceptor } from './enlist.interceptor';
import { VERDICT_PARTICIPANT_OPTIONS } from './tokens';

export { VERDICT_PARTICIPANT_OPTIONS };

export interface VerdictParticipantAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  readonly inject?: FactoryProvider['inject'];
  readonly useFactory: (...dependencies: never[]) => ParticipantOptions | Promise<ParticipantOptions>;
}

/** Starts the participant once the whole application is up (migrations ran), stops it on shutdown. */
@Injectable()
export class ParticipantLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private handle: ParticipantHandle | null = null;

  constructor(@Inject(VERDICT_PARTICIPANT_OPTIONS) private readonly options: ParticipantOptions) {}

  async onApplicationBootstrap(): Promise<void> {
    this.handle = await startParticipant({
      ...this.options,
      logger: this.options.logger ?? nestLogger(`VerdictParticipant ${this.options.name}`),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.handle?.stop();
    this.handle = null;
  }
}

/**
 * `VerdictParticipantModule.forRoot({ name, service, kafka, coordinatorUrl, apiKey })`: the service
 * joins transactions as participant `name`. Global, so `@Enlist()` works in any controller.
 */
@Module({})
export class VerdictParticipantModule {
  static forRoot(options: ParticipantOptions): DynamicModule {
    return VerdictParticipantModule.build([], { provide: VERDICT_PARTICIPANT_OPTIONS, useValue: options });
  }

  /** When the service (the `ParticipantService`) is itself a provider, e.g. needs the DataSource. */
  static forRootAsync(options: VerdictParticipantAsyncOptions): DynamicModule {
    return VerdictParticipantModule.build(options.imports ?? [], {
      provide: VERDICT_PARTICIPANT_OPTIONS,
      inject: options.inject ?? [],
      useFactory: options.useFactory as (...dependencies: unknown[]) => Promise<ParticipantOptions>,
    });
  }

  private static build(
    imports: NonNullable<ModuleMetadata['imports']>,
    optionsProvider: Provider,
  ): DynamicModule {
    return {
      module: VerdictParticipantModule,
      global: true,
      imports,
      providers: [
        optionsProvider,
        ParticipantLifecycle,
        {
          provide: CoordinatorClient,
          inject: [VERDICT_PARTICIPANT_OPTIONS],
          useFactory: (options: ParticipantOptions): CoordinatorClient => {
            const settings = participantSettings(options);
            if (settings.coordinatorUrl === undefined) {
              throw new Error(
                `participant ${settings.name}: coordinatorUrl is required to talk to the coordinator`,
              );
            }
            return new CoordinatorClient({
              coordinatorUrl: settings.coordinatorUrl,
              apiKey: settings.apiKey,
              requestTimeoutMs: settings.httpTimeoutMs,
            });
          },
        },
        EnlistInterceptor,
      ],
      exports: [VERDICT_PARTICIPANT_OPTIONS, CoordinatorClient, EnlistInterceptor],
    };
  }
}

function nestLogger(context: string): ParticipantLogger {
  const logger = new Logger(context);
  const format = (message: string, fields?: Record<string, unknown>): string =>
    fields === undefined ? message : `${message} ${JSON.stringify(fields)}`;
  return {
    debug: (message, fields) => logger.debug(format(message, fields)),
    info: (message, fields) => logger.log(format(message, fields)),
    warn: (message, fields) => logger.warn(format(message, fields)),
    error: (message, fields) => logger.error(format(message, fields)),
  };
}
