import {
  ValidationPipe,
  type ArgumentMetadata,
  type ValidationError,
  type ValidationPipeOptions,
} from '@nestjs/common';
import type { FieldError } from './coordinator.error';
import { acceptFast } from './dto/fast-paths';
import { validationProblem, type ProblemException } from './problem';

/** A hostile body can break thousands of rules; the first ones are enough to fix it. */
export const FIELD_ERRORS_MAX = 50;

/**
 * The global pipe: DTO classes are the only shape a handler ever receives. Unknown fields are
 * rejected rather than dropped, so a client's typo (`timeoutMS`) fails loudly instead of
 * silently using a default. The hot path's DTOs are first offered to their compiled schemas
 * (dto/fast-paths.ts); `fastPaths: false` validates everything with class-validator.
 */
export function createValidationPipe({ fastPaths = true }: { fastPaths?: boolean } = {}): ValidationPipe {
  return new BodyValidationPipe(fastPaths, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: (errors: ValidationError[]): ProblemException =>
      validationProblem(toFieldErrors(errors)),
  });
}

/** Flattens class-validator's tree into `participants[0].name`-style paths, one entry per field. */
export function toFieldErrors(errors: readonly ValidationError[], parentPath = ''): FieldError[] {
  const result: FieldError[] = [];
  const visit = (nodes: readonly ValidationError[], path: string): void => {
    for (const node of nodes) {
      if (result.length >= FIELD_ERRORS_MAX) return;
      const field = joinPath(path, node.property);
      const messages = Object.values(node.constraints ?? {});
      if (messages.length > 0) result.push({ field, messages });
      visit(node.children ?? [], field);
    }
  };
  visit(errors, parentPath);
  return result;
}

function joinPath(parent: string, property: string): string {
  if (/^\d+$/.test(property)) return `${parent}[${property}]`;
  return parent === '' ? property : `${parent}.${property}`;
}

/**
 * Every request body is a JSON object, or absent where the body is optional. ValidationPipe lets
 * a body of `null` through as if there were none (a begin with the body `null` was accepted).
 */
class BodyValidationPipe extends ValidationPipe {
  constructor(
    private readonly fastPaths: boolean,
    options: ValidationPipeOptions,
  ) {
    super(options);
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (
      metadata.type === 'body' &&
      value !== undefined &&
      (typeof value !== 'object' || value === null || Array.isArray(value))
    ) {
      throw validationProblem([{ field: '(body)', messages: ['the request body must be a JSON object'] }]);
    }
    const accepted = this.fastPaths ? acceptFast(metadata.metatype, value) : undefined;
    return accepted ?? (await super.transform(value, metadata));
  }
}
