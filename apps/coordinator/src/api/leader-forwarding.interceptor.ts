import {
  Inject,
  Injectable,
  Logger,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { catchError, from, throwError, type Observable } from 'rxjs';
import { API_OPTIONS, type ApiOptions } from './api.options';
import { CoordinatorError } from './coordinator.error';
import { makeProblem, ProblemException } from './problem';

/** Set on a forwarded request; a node that receives it never forwards again, so no loops. */
export const FORWARDED_BY_HEADER = 'verdict-forwarded-by';
/** Set on a forwarded answer: which node actually served it. */
export const SERVED_BY_HEADER = 'verdict-served-by';

/** Request headers the leader needs to answer exactly as it would have answered the client. */
const FORWARDED_REQUEST_HEADERS = [
  'authorization',
  'idempotency-key',
  'content-type',
  'accept',
  'x-request-id',
  // The client's trace context: the leader's spans join the client's trace as if asked directly.
  'traceparent',
  'tracestate',
];
/** Connection-level headers (RFC 9110 §7.6.1) and those fetch already acted on (decoding, length). */
const DROPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'content-encoding',
  'date',
]);
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
/** After a lost forward the next election is a few hundred milliseconds away. */
const LEADERSHIP_MOVED_RETRY_AFTER_MS = 500;

/**
 * Followers do not serve leader-bound requests: when the coordinator says NOT_LEADER and names
 * the leader, the request is replayed there (method, path, query, body, credentials,
 * idempotency key) and the leader's answer is returned as it is, status and headers included.
 */
@Injectable()
export class LeaderForwardingInterceptor implements NestInterceptor {
  private readonly logger = new Logger(LeaderForwardingInterceptor.name);

  constructor(@Inject(API_OPTIONS) private readonly options: ApiOptions) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      catchError((error: unknown) => {
        if (!(error instanceof CoordinatorError)) return throwError(() => error);
        const failure = error.failure;
        if (failure.code !== 'NOT_LEADER') return throwError(() => error);
        const request = context.switchToHttp().getRequest<FastifyRequest>();
        const forwardedBy = request.headers[FORWARDED_BY_HEADER];
        if (forwardedBy !== undefined) {
          // The node that forwarded this believed we lead; we believe failure.leaderId does.
          // Leadership is moving: let the client retry rather than bounce between nodes.
          return throwError(
            () =>
              new CoordinatorError(
                { code: 'NO_LEADER', retryAfterMs: LEADERSHIP_MOVED_RETRY_AFTER_MS },
                `leadership is moving (${String(forwardedBy)} forwarded this to ${this.options.nodeId}, which now follows ${failure.leaderId}); retry later`,
              ),
          );
        }
        return from(this.forward(request, failure.leaderId, failure.leaderUrl));
      }),
    );
  }

  private async forward(request: FastifyRequest, leaderId: string, leaderUrl: string): Promise<Response> {
    // Concatenated, not resolved: a path like `//elsewhere/…` must not change the host.
    const target = new URL(leaderUrl.replace(/\/+$/, '') + request.url);
    const headers = new Headers({ [FORWARDED_BY_HEADER]: this.options.nodeId });
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = request.headers[name];
      if (typeof value === 'string') headers.set(name, value);
    }
    if (!headers.has('x-request-id')) headers.set('x-request-id', request.id);
    const hasBody = request.body !== undefined && request.body !== null;
    this.logger.log({ leaderId, target: target.origin }, 'forwarding request to the leader');
    try {
      const answer = await fetch(target, {
        method: request.method,
        headers,
        body: hasBody ? JSON.stringify(request.body) : null,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.forwardTimeoutMs),
      });
      // Read whole, still under the timeout, so a stalled leader cannot hold the client forever.
      const body = NULL_BODY_STATUSES.has(answer.status) ? null : await answer.arrayBuffer();
      const answerHeaders = new Headers();
      answer.headers.forEach((value, name) => {
        if (!DROPPED_RESPONSE_HEADERS.has(name)) answerHeaders.append(name, value);
      });
      answerHeaders.set(SERVED_BY_HEADER, leaderId);
      return new Response(body, {
        status: answer.status,
        statusText: answer.statusText,
        headers: answerHeaders,
      });
    } catch (error: unknown) {
      throw this.forwardFailure(error, leaderId, target);
    }
  }

  private forwardFailure(error: unknown, leaderId: string, target: URL): ProblemException {
    if (error instanceof DOMException && error.name === 'TimeoutError') {
      return new ProblemException(
        makeProblem(
          'LEADER_TIMEOUT',
          `the leader ${leaderId} did not answer within ${this.options.forwardTimeoutMs} ms; the request may have taken effect, so read the transaction before retrying`,
          { leaderId },
        ),
      );
    }
    this.logger.warn({ err: error, leaderId, target: target.origin }, 'leader unreachable while forwarding');
    return new ProblemException(
      makeProblem(
        'LEADER_UNREACHABLE',
        `the leader ${leaderId} could not be reached from ${this.options.nodeId}; retry later`,
        {
          leaderId,
          retryAfterMs: LEADERSHIP_MOVED_RETRY_AFTER_MS,
        },
      ),
    );
  }
}
