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

@Public()
@ApiTags('observability')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly raft: RaftReadinessIndicator,
  ) {}

  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process serves HTTP' })
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: knows a leader and has applied the log (503 otherwise)' })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.raft.check()]);
  }
}
