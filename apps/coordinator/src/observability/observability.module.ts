import { Global, Module, type DynamicModule, type ModuleMetadata } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController, KafkaConsumersIndicator, RaftReadinessIndicator } from './health.controller';
import { CoordinatorMetrics } from './metrics';
import { MetricsController } from './metrics.controller';

type ImportedModule = NonNullable<ModuleMetadata['imports']>[number];

/**
 * Health probes and `/metrics`. Global, so that any module of the coordinator (cluster host,
 * transport) can inject `CoordinatorMetrics` to update it.
 */
@Global()
@Module({})
export class ObservabilityModule {
  /** `host` must export READINESS (a ReadinessPort). */
  static register(host: ImportedModule, metrics: CoordinatorMetrics): DynamicModule {
    return {
      module: ObservabilityModule,
      // Failed readiness is routine (elections, start-up): answered, not logged as an error.
      imports: [host, TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController, MetricsController],
      providers: [
        RaftReadinessIndicator,
        KafkaConsumersIndicator,
        { provide: CoordinatorMetrics, useValue: metrics },
      ],
      exports: [CoordinatorMetrics],
    };
  }
}
