import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { context as otelContext, propagation, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { finalize, tap, type Observable } from 'rxjs';
import { COORDINATOR_TRACER_NAME } from './tracing-transactions';

/**
 * An HTTP server span around every request a controller handles, a child of the caller's
 * `traceparent` (through the propagators OTEL_PROPAGATORS configures), and the active context
 * while the handler runs: that is how a transaction's span becomes a child of its BEGIN request.
 * Requests refused before a handler runs (unknown route, no API key) get no span. With tracing
 * off the tracer is the API's no-op one.
 */
@Injectable()
export class HttpTracingInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const route = request.routeOptions.url ?? 'unmatched';
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = trace.getTracer(COORDINATOR_TRACER_NAME).startSpan(
      `${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'http.route': route,
          'url.path': request.url.split('?')[0] ?? '',
        },
      },
      parent,
    );
    return otelContext
      .with(trace.setSpan(parent, span), () => next.handle())
      .pipe(
        tap({
          next: () => span.setAttribute('http.response.status_code', reply.statusCode),
          error: (error: unknown) => span.setAttribute('error.type', errorType(error)),
        }),
        finalize(() => span.end()),
      );
  }
}

/** The stable problem `code` of an expected failure (TX_NOT_ACTIVE, NOT_LEADER…), else the error's class. */
function errorType(error: unknown): string {
  const code = (error as { failure?: { code?: unknown } } | null)?.failure?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : typeof error;
}
