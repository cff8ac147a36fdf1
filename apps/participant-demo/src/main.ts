import 'reflect-metadata';
import { ConsoleLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { startOpenTelemetry, type OpenTelemetryHandle } from '@verdict/participant';
import { AppModule } from './app.module';
import { loadEnvironment, type ParticipantDemoEnvironment } from './config/environment';
import { configureHttp } from './http/configure-http';
import { nestLogLevels } from './logging';

/** Signals that stop the bank gracefully; a second one while it stops is ignored. */
const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

async function bootstrap(
  environment: ParticipantDemoEnvironment,
  telemetry: OpenTelemetryHandle,
): Promise<void> {
  const logger = new ConsoleLogger({ json: true, logLevels: nestLogLevels(environment.logLevel) });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.register({
      bank: environment.participantName,
      databaseUrl: environment.databaseUrl,
      kafkaBrokers: environment.kafkaBrokers,
      coordinatorUrl: environment.coordinatorUrl,
      apiKey: environment.apiKey,
    }),
    new FastifyAdapter(),
    { logger },
  );
  configureHttp(app);
  // A signal closes the app (the participant's consumer stops before the database pool closes),
  // then exports the last spans, then ends the process by the same signal.
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    app
      .close()
      .then(() => telemetry.shutdown())
      .catch((error: unknown) => console.error('participant-demo did not stop cleanly:', error))
      .finally(() => {
        for (const each of SHUTDOWN_SIGNALS) process.removeListener(each, stop);
        process.kill(process.pid, signal);
      });
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, stop);
  await app.listen(environment.httpPort, '0.0.0.0');
  logger.log(`bank ${environment.participantName} listening on port ${environment.httpPort}`, 'Bootstrap');
}

let environment: ParticipantDemoEnvironment;
try {
  environment = loadEnvironment();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
startOpenTelemetry({
  defaultServiceName: `verdict-${environment.participantName}`,
  resourceAttributes: { 'verdict.participant': environment.participantName },
})
  .catch((error: unknown) => {
    // A bad OTEL_* variable, named in the message.
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  })
  .then((telemetry) => bootstrap(environment, telemetry))
  .catch((error: unknown) => {
    console.error('participant-demo failed to start:', error);
    process.exit(1);
  });
