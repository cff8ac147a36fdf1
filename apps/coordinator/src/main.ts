import 'reflect-metadata';
import { createHttpApp } from './api/http-app';
import { ClusterModule } from './cluster/cluster.module';
import { loadEnvironment } from './config/environment';
import { CoordinatorMetrics } from './observability/metrics';

/**
 * One coordinator node: `node dist/apps/coordinator/src/main.js` with its configuration in the
 * environment (see config/environment.ts). A bad configuration stops it before anything starts,
 * with every wrong variable named.
 */
async function main(): Promise<void> {
  let environment;
  try {
    environment = loadEnvironment();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  const metrics = new CoordinatorMetrics({ nodeId: environment.nodeId, processMetrics: true });
  const app = await createHttpApp(ClusterModule.forRoot(environment, metrics), {
    nodeId: environment.nodeId,
    apiKeys: environment.apiKeys,
    logLevel: environment.logLevel,
    metrics,
  });
  // SIGTERM/SIGINT run the shutdown hooks: a leader hands over leadership before it stops.
  app.enableShutdownHooks();
  await app.listen({ port: environment.httpPort, host: '0.0.0.0' });
}

main().catch((error: unknown) => {
  console.error('coordinator failed to start:', error);
  process.exit(1);
});
