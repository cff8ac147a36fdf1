import { Controller, Get, Inject, Injectable } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  type HealthCheckResult,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import { Public } from '../api/auth/auth.decorators';
import { CoordinatorMetrics } from './metrics';
import { READINESS, type ReadinessPort } from './readiness.port';

/** Ready = knows a leader and has caught up applying the log (see ReadinessPort). */
@Injectable()
export class RaftReadinessIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(READINESS) private readonly readiness: ReadinessPort,
  ) {}

  async check(): Promise<HealthIndicatorResult<'raft'>> {
    const session = this.indicators.check('raft');
    const view = await this.readiness.readiness();
    const data = {
      leaderId: view.leaderId,
      commitIndex: view.commitIndex,
      appliedIndex: view.appliedIndex,
    };
    if (view.leaderId === null) return session.down({ ...data, reason: 'no known leader' });
    if (!view.caughtUp) return session.down({ ...data, reason: 'still applying the committed log' });
    return session.up(data);
  }
}

/** Ready also needs the replies consumer: a node that reads no votes aborts every transaction. */
@Injectable()
export class KafkaConsumersIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly metrics: CoordinatorMetrics,
  ) {}

  check(): HealthIndicatorResult<'kafka'> {
    const session = this.indicators.check('kafka');
    const down = this.metrics.kafkaConsumersDown();
    if (down.length > 0) return session.down({ consumersDown: down, reason: 'a Kafka consumer crashed' });
    return session.up();
  }
}

@Public()
@ApiTags('observability')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly raft: RaftReadinessIndicator,
    private readonly kafka: KafkaConsumersIndicator,
  ) {}

  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process serves HTTP' })
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness: knows a leader, has applied the log and reads replies from Kafka (503 otherwise)',
  })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.raft.check(), () => this.kafka.check()]);
  }
}
