import { ValidationPipe, type INestApplication } from '@nestjs/common';
import { ProblemDetailsFilter, validationProblem } from './problem-details';

/** Validation at the edge and problem details for every error, for the app and its tests alike. */
export function configureHttp(app: INestApplication): void {
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: validationProblem,
    }),
  );
  app.useGlobalFilters(new ProblemDetailsFilter());
}
