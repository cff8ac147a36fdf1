import { Module, type DynamicModule, type ModuleMetadata } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { AdminController } from './admin.controller';
import { API_OPTIONS, type ApiOptions } from './api.options';
import { ApiKeyGuard } from './auth/api-key.guard';
import { ApiKeys } from './auth/api-keys';
import { ClusterController } from './cluster.controller';
import { LeaderForwardingInterceptor } from './leader-forwarding.interceptor';
import { ProblemFilter } from './problem.filter';
import { SessionController } from './session.controller';
import { TransactionsController } from './transactions.controller';
import { createValidationPipe } from './validation';

type ImportedModule = NonNullable<ModuleMetadata['imports']>[number];

/**
 * The REST API. Its guard, pipe, filter and interceptor are global (APP_*), so they cover the
 * observability routes as well and behave the same in tests built from this module.
 */
@Module({})
export class ApiModule {
  /** `host` must export COORDINATOR (a CoordinatorPort). */
  static register(host: ImportedModule, apiKeys: ApiKeys, options: ApiOptions): DynamicModule {
    return {
      module: ApiModule,
      imports: [host],
      controllers: [TransactionsController, AdminController, ClusterController, SessionController],
      providers: [
        { provide: ApiKeys, useValue: apiKeys },
        { provide: API_OPTIONS, useValue: options },
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: ProblemFilter },
        { provide: APP_INTERCEPTOR, useClass: LeaderForwardingInterceptor },
      ],
    };
  }
}
