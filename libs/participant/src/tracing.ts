import { AsyncLocalStorage } from 'node:async_hooks';
import {
  context as otelContext,
  defaultTextMapGetter,
  defaultTextMapSetter,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { HEADER_TRACEPARENT, type ParticipantCommand } from '@verdict/protocol';
import type { Handled } from './command-handler';
import type { ParticipantLogger } from './service';

/** The instrumentation scope of the SDK's spans. */
export const PARTICIPANT_TRACER_NAME = 'verdict-participant';

/** The wire protocol fixes W3C trace context, whatever propagators the service configured. */
const propagator = new W3CTraceContextPropagator();

interface TraceFields {
  readonly traceId: string;
  readonly spanId: string;
}

/** The trace of the command being handled, for log lines; the SDK's own, so it needs no OTel SDK. */
const commandTrace = new AsyncLocalStorage<TraceFields>();

/**
 * Runs `handle` in a span for one command, a child of the span whose traceparent came with it,
 * and returns what it returned with the traceparent the reply carries (that span's context).
 *
 * Spans come from the global OpenTelemetry API: without an SDK registered they are the API's
 * no-op ones, which cost next to nothing and keep the received context, so the reply then
 * carries the coordinator's traceparent back unchanged. Log lines written meanwhile through a
 * {@link tracedLogger} carry `traceId` and `spanId` either way.
 */
export async function inCommandSpan(
  participant: string,
  command: ParticipantCommand,
  receivedTraceparent: string | null,
  handle: () => Promise<Handled>,
): Promise<{ readonly handled: Handled; readonly traceparent: string | null }> {
  const parent =
    receivedTraceparent === null
      ? ROOT_CONTEXT
      : propagator.extract(ROOT_CONTEXT, { [HEADER_TRACEPARENT]: receivedTraceparent }, defaultTextMapGetter);
  const span = trace.getTracer(PARTICIPANT_TRACER_NAME).startSpan(
    `handle ${command.type}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'verdict.tx.id': command.txId,
        'verdict.participant': participant,
        'verdict.term': command.term,
        'verdict.attempt': command.attempt,
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': `verdict.participant.${participant}`,
      },
    },
    parent,
  );
  const spanContext = span.spanContext();
  const fields = isSpanContextValid(spanContext)
    ? { traceId: spanContext.traceId, spanId: spanContext.spanId }
    : undefined;
  let handled: Handled;
  try {
    handled = await otelContext.with(trace.setSpan(parent, span), () =>
      fields === undefined ? handle() : commandTrace.run(fields, handle),
    );
  } catch (error) {
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
    span.end();
    throw error;
  }
  recordHandled(span, handled);
  span.end();
  return { handled, traceparent: traceparentOf(span) };
}

function recordHandled(span: Span, handled: Handled): void {
  switch (handled.kind) {
    case 'reply':
      if (handled.reply.type === 'VOTE') span.setAttribute('verdict.vote', handled.reply.payload.vote);
      else if (handled.reply.type === 'ACK')
        span.setAttribute('verdict.outcome', handled.reply.payload.outcome);
      return;
    case 'silent':
      // Ignored on purpose (a deposed leader) or failed in the service: no reply goes back.
      span.setAttribute('verdict.unanswered', handled.reason);
      return;
    case 'reject':
      span.setStatus({ code: SpanStatusCode.ERROR, message: handled.reason });
      return;
  }
}

function traceparentOf(span: Span): string | null {
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  return carrier[HEADER_TRACEPARENT] ?? null;
}

/** `logger`, with the trace and span id of the command being handled added to every line. */
export function tracedLogger(logger: ParticipantLogger): ParticipantLogger {
  const write =
    (level: keyof ParticipantLogger) =>
    (message: string, fields?: Record<string, unknown>): void => {
      const trace = commandTrace.getStore();
      logger[level](message, trace === undefined ? fields : { ...fields, ...trace });
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
