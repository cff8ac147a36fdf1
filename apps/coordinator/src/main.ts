import 'reflect-metadata';
import { trace } from '@opentelemetry/api';
import { startOpenTelemetry, type OpenTelemetryHandle } from '@verdict/participant';
import { createHttpApp } from './api/http-app';
import { ClusterModule } from './cluster/cluster.module';
import { loadEnvironment } from './config/environment';
import { CoordinatorMetrics } from './observability/metrics';
import { logTransactionTraces } from './observability/tracing-logs';
import { COORDINATOR_TRACER_NAME, TransactionTracing } from './observability/tracing-transactions';

/** Signals that stop a node gracefully; a second one while it stops is ignored. */
const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/**
 * One coordinator node: `node dist/apps/coordinator/src/main.js` with its configuration in the
 * environment (see config/environment.ts). A bad configuration stops it before anything starts,
 * with every wrong variable named.
 */
async function main(): Promise<void> {
  let environment;
  let telemetry: OpenTelemetryHandle;
  try {
    environment = loadEnvironment();
    // Before Nest starts, so that every span has the SDK behind it (docs/observability.md).
    telemetry = await startOpenTelemetry({
      defaultServiceName: 'verdict-coordinator',
      resourceAttributes: { 'verdict.node.id': environment.nodeId },
    });
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  const tracing = telemetry.enabled
    ? new TransactionTracing(trace.getTracer(COORDINATOR_TRACER_NAME), {
        nodeId: environment.nodeId,
        clock: Date.now,
      })
    : null;
  logTransactionTraces(tracing === null ? null : (txId) => tracing.traceIdOf(txId));
  const metrics = new CoordinatorMetrics({ nodeId: environment.nodeId, processMetrics: true });
  const app = await createHttpApp(ClusterModule.forRoot(environment, metrics, tracing), {
    nodeId: environment.nodeId,
    apiKeys: environment.apiKeys,
    logLevel: environment.logLevel,
    metrics,
    tracing: telemetry.enabled,
  });
  // A signal closes the app, which runs the shutdown hooks (a leader hands over leadership), then
  // exports the last spans, then ends the process by the same signal. Nest's own signal handling
  // would end the process before the spans of the handover could leave.
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    app
      .close()
      .then(() => telemetry.shutdown())
      .catch((error: unknown) => console.error('coordinator did not stop cleanly:', error))
      .finally(() => {
        for (const each of SHUTDOWN_SIGNALS) process.removeListener(each, stop);
        process.kill(process.pid, signal);
      });
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, stop);
  await app.listen({ port: environment.httpPort, host: '0.0.0.0' });
}

main().catch((error: unknown) => {
  console.error('coordinator failed to start:', error);
  process.exit(1);
});
