import 'reflect-metadata';
import { ConsoleLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { loadEnvironment, type ParticipantDemoEnvironment } from './config/environment';
import { configureHttp } from './http/configure-http';
import { nestLogLevels } from './logging';

async function bootstrap(environment: ParticipantDemoEnvironment): Promise<void> {
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
  // SIGTERM stops the participant's consumer before the database pool closes.
  app.enableShutdownHooks();
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
bootstrap(environment).catch((error: unknown) => {
  console.error('participant-demo failed to start:', error);
  process.exit(1);
});
