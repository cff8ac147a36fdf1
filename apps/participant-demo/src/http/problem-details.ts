import {
  BadRequestException,
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
  type ValidationError,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { databaseUnavailable } from '../ledger/postgres';

/** How long a client waits before trying again when this bank's database is unreachable. */
const DATABASE_RETRY_AFTER_SECONDS = 1;

/** RFC 9457 problem details, with the stable machine `code` clients switch on. */
export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  readonly instance?: string;
  readonly errors?: readonly { readonly field: string; readonly problems: readonly string[] }[];
  readonly [extension: string]: unknown;
}

/**
 * The body every handler throws: `new NotFoundException(problem('ACCOUNT_NOT_FOUND', '…'))`.
 * `detail` says what is wrong and what to do about it, in one sentence.
 */
export function problem(code: string, detail: string, extensions: Record<string, unknown> = {}): object {
  return { code, detail, ...extensions };
}

/** A 503 that also tells the client when to try again. */
export class RetryLaterException extends HttpException {
  constructor(
    code: string,
    detail: string,
    readonly retryAfterSeconds: number,
  ) {
    super(problem(code, detail, { retryAfterMs: retryAfterSeconds * 1000 }), HttpStatus.SERVICE_UNAVAILABLE);
  }
}

/** ValidationPipe's failures as one 400 listing every bad field. */
export function validationProblem(errors: ValidationError[]): BadRequestException {
  const fields = flatten(errors);
  return new BadRequestException(
    problem(
      'VALIDATION_FAILED',
      `the request is invalid: ${fields.map((field) => `${field.field}: ${field.problems.join(', ')}`).join('; ')}`,
      { errors: fields },
    ),
  );
}

function flatten(errors: ValidationError[], parent = ''): { field: string; problems: string[] }[] {
  return errors.flatMap((error) => {
    const field = parent === '' ? error.property : `${parent}.${error.property}`;
    const own =
      error.constraints === undefined ? [] : [{ field, problems: Object.values(error.constraints) }];
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

const CODE_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

/** Every error leaves as `application/problem+json`; unexpected ones are logged and kept vague. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger(ProblemDetailsFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const answered = databaseUnavailable(exception)
      ? new RetryLaterException(
          'DATABASE_UNAVAILABLE',
          "this bank's database cannot be reached right now; nothing was changed, retry later",
          DATABASE_RETRY_AFTER_SECONDS,
        )
      : exception;
    const body = this.toProblem(answered, request.url);
    if (answered instanceof RetryLaterException) {
      void reply.header('retry-after', String(answered.retryAfterSeconds));
    }
    void reply.status(body.status).header('content-type', 'application/problem+json').send(body);
  }

  private toProblem(exception: unknown, instance: string): ProblemDetails {
    if (!(exception instanceof HttpException)) {
      this.logger.error(
        `unexpected error on ${instance}`,
        exception instanceof Error ? exception.stack : exception,
      );
      return describe(500, 'INTERNAL', 'an unexpected error occurred; it has been logged', instance, {});
    }
    const status = exception.getStatus();
    const response = exception.getResponse();
    if (typeof response === 'object' && 'code' in response && typeof response.code === 'string') {
      const { code, detail, ...extensions } = response as { code: string; detail?: unknown };
      return describe(
        status,
        code,
        typeof detail === 'string' ? detail : exception.message,
        instance,
        extensions,
      );
    }
    // Framework errors (unknown route, unparsable JSON body) carry only a message.
    return describe(status, CODE_BY_STATUS[status] ?? `HTTP_${status}`, exception.message, instance, {});
  }
}

function describe(
  status: number,
  code: string,
  detail: string,
  instance: string,
  extensions: Record<string, unknown>,
): ProblemDetails {
  return {
    type: `urn:verdict:problem:${code.toLowerCase().replace(/_/g, '-')}`,
    title: titleOf(status),
    status,
    detail,
    code,
    instance,
    ...extensions,
  };
}

function titleOf(status: number): string {
  const name = HttpStatus[status];
  if (typeof name !== 'string') return `HTTP ${status}`;
  return name
    .toLowerCase()
    .split('_')
    .map((word, index) => (index === 0 ? word[0]?.toUpperCase() + word.slice(1) : word))
    .join(' ');
}
