import { Writable } from 'node:stream';
import { Module, type DynamicModule } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { READINESS, type ReadinessPort, type ReadinessView } from '../../observability/readiness.port';
import { COORDINATOR } from '../coordinator.port';
import { createHttpApp } from '../http-app';
import { InMemoryCoordinator } from './in-memory-coordinator';

export const SERVICE_KEY = 'service-key-0123456789';
export const OPERATOR_KEY = 'operator-key-0123456789';
export const API_KEYS = `${SERVICE_KEY}:service,${OPERATOR_KEY}:operator`;

export const asService = { authorization: `Bearer ${SERVICE_KEY}` } as const;
export const asOperator = { authorization: `Bearer ${OPERATOR_KEY}` } as const;

/** TEST DOUBLE of the cluster host's readiness: whatever the test sets. */
export class ScriptedReadiness implements ReadinessPort {
  view: ReadinessView = { leaderId: 'node-1', caughtUp: true, commitIndex: 7, appliedIndex: 7 };

  readiness(): Promise<ReadinessView> {
    return Promise.resolve(this.view);
  }
}

export interface TestApp {
  readonly app: NestFastifyApplication;
  readonly coordinator: InMemoryCoordinator;
  readonly readiness: ScriptedReadiness;
  /** Every JSON log line the app wrote, parsed. */
  readonly logs: Record<string, unknown>[];
}

/** The real HTTP app (createHttpApp) over the in-memory coordinator double. */
export async function createTestApp(
  nodeId = 'node-1',
  options: {
    readonly forwardTimeoutMs?: number;
    readonly bodyLimitBytes?: number;
    readonly logLevel?: 'info' | 'warn';
  } = {},
): Promise<TestApp> {
  const coordinator = new InMemoryCoordinator(nodeId);
  const readiness = new ScriptedReadiness();
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback): void {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });
  const app = await createHttpApp(testHost(coordinator, readiness), {
    nodeId,
    apiKeys: API_KEYS,
    logLevel: 'info',
    logDestination: destination,
    ...options,
  });
  await app.getHttpAdapter().getInstance().ready();
  return { app, coordinator, readiness, logs };
}

function testHost(coordinator: InMemoryCoordinator, readiness: ReadinessPort): DynamicModule {
  @Module({})
  class TestHostModule {}
  return {
    module: TestHostModule,
    providers: [
      { provide: COORDINATOR, useValue: coordinator },
      { provide: READINESS, useValue: readiness },
    ],
    exports: [COORDINATOR, READINESS],
  };
}
