import {
  Catch,
  HttpException,
  Inject,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_OPTIONS, type ApiOptions } from './api.options';
import { CoordinatorError } from './coordinator.error';
import {
  makeProblem,
  PROBLEM_CONTENT_TYPE,
  problemFromCoordinatorError,
  ProblemException,
  retryAfterSeconds,
  RETRY_AFTER_MS_DEFAULT,
  type Problem,
} from './problem';

interface Answer {
  readonly problem: Problem;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Every error leaves as `application/problem+json`: coordinator failures, the edge's own
 * (auth, validation, forwarding), Nest and Fastify HTTP errors (unknown route, bad JSON, body too
 * large) and bugs. A bug answers 500 with nothing but the request id; its stack goes to the log.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger(ProblemFilter.name);

  constructor(@Inject(API_OPTIONS) private readonly options: ApiOptions) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const answer = this.answer(exception, request);
    const headers: Record<string, string> = { ...answer.headers, 'Content-Type': PROBLEM_CONTENT_TYPE };
    if (answer.problem.status === 503 && headers['Retry-After'] === undefined) {
      const hint = answer.problem['retryAfterMs'];
      headers['Retry-After'] = retryAfterSeconds(typeof hint === 'number' ? hint : RETRY_AFTER_MS_DEFAULT);
    }
    if (reply.sent) {
      this.logger.warn({ err: exception, problem: answer.problem }, 'error after the response was sent');
      return;
    }
    void reply
      .status(answer.problem.status)
      .headers(headers)
      .send(JSON.stringify({ ...answer.problem, requestId: request.id }));
  }

  private answer(exception: unknown, request: FastifyRequest): Answer {
    if (exception instanceof CoordinatorError)
      return { problem: problemFromCoordinatorError(exception), headers: {} };
    if (exception instanceof ProblemException)
      return { problem: exception.problem, headers: exception.headers };
    if (exception instanceof HttpException)
      return { problem: this.fromHttpException(exception, request), headers: {} };
    this.logger.error({ err: exception, requestId: request.id }, 'unhandled error while serving a request');
    return {
      problem: makeProblem(
        'INTERNAL',
        `the coordinator failed unexpectedly; the error is logged under request id ${request.id}`,
      ),
      headers: {},
    };
  }

  private fromHttpException(exception: HttpException, request: FastifyRequest): Problem {
    const status = exception.getStatus();
    const fastifyCode = fastifyErrorCode(exception.cause);
    if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return makeProblem(
        'PAYLOAD_TOO_LARGE',
        `the request body is larger than ${this.options.bodyLimitBytes} bytes; send less (large payloads belong in the participant's own store)`,
        { bodyLimitBytes: this.options.bodyLimitBytes },
      );
    }
    if (fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return makeProblem('UNSUPPORTED_MEDIA_TYPE', 'send the request body as application/json');
    }
    if (fastifyCode?.startsWith('FST_ERR_CTP_') === true) {
      return makeProblem('MALFORMED_REQUEST', `the request body could not be read: ${exception.message}`);
    }
    if (status === 404) {
      return makeProblem(
        'NOT_FOUND',
        `there is no route ${request.method} ${request.url}; the routes are listed at /docs`,
      );
    }
    const response = exception.getResponse();
    // Terminus answers a failed readiness check with a 503 whose body lists each check.
    if (status === 503 && typeof response === 'object' && 'details' in response) {
      return makeProblem(
        'NOT_READY',
        'this node is not ready to serve requests; retry later or use another node',
        {
          checks: response.details,
        },
      );
    }
    if (status >= 500) {
      this.logger.error({ err: exception, requestId: request.id }, 'HTTP error while serving a request');
      return makeProblem(
        'INTERNAL',
        `the request failed; the error is logged under request id ${request.id}`,
        {},
        status,
      );
    }
    return makeProblem(status === 400 ? 'BAD_REQUEST' : 'HTTP_ERROR', exception.message, {}, status);
  }
}

function fastifyErrorCode(cause: unknown): string | undefined {
  if (cause instanceof Error && 'code' in cause && typeof cause.code === 'string') return cause.code;
  return undefined;
}
