import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { validationProblem } from './problem';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const IDEMPOTENCY_KEY_LENGTH_MAX = 255;
/** Visible ASCII: keys are logged and replicated, so no control characters or spaces. */
const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]+$/;

/** The optional `Idempotency-Key` header, validated like a body field. */
export const IdempotencyKey = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string | undefined => {
    const value = context.switchToHttp().getRequest<FastifyRequest>().headers['idempotency-key'];
    if (value === undefined) return undefined;
    if (
      typeof value !== 'string' ||
      value.length > IDEMPOTENCY_KEY_LENGTH_MAX ||
      !IDEMPOTENCY_KEY_PATTERN.test(value)
    ) {
      throw validationProblem([
        {
          field: IDEMPOTENCY_KEY_HEADER,
          messages: [
            `${IDEMPOTENCY_KEY_HEADER} must be 1 to ${IDEMPOTENCY_KEY_LENGTH_MAX} visible ASCII characters`,
          ],
        },
      ]);
    }
    return value;
  },
);

export const ApiIdempotencyKey = (): MethodDecorator =>
  ApiHeader({
    name: IDEMPOTENCY_KEY_HEADER,
    required: false,
    schema: {
      type: 'string',
      minLength: 1,
      maxLength: IDEMPOTENCY_KEY_LENGTH_MAX,
      pattern: IDEMPOTENCY_KEY_PATTERN.source,
    },
    description:
      'Same key and same body: the transaction the first request created is returned. Same key, another body: 422 IDEMPOTENCY_MISMATCH.',
  });
