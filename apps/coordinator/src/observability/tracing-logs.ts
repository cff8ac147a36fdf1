import { isSpanContextValid, trace } from '@opentelemetry/api';

/** How a log line about a transaction finds its trace id: the leader's live traces, when tracing is on. */
let transactionTraceIds: ((txId: string) => string | null) | null = null;

/** Log lines with a `txId` field get that transaction's trace id from `lookup` from now on. */
export function logTransactionTraces(lookup: ((txId: string) => string | null) | null): void {
  transactionTraceIds = lookup;
}

/** `traceId` of a transaction this leader traces, for log lines about it; nothing otherwise. */
export function transactionTraceFields(txId: string): Record<string, string> {
  const traceId = transactionTraceIds?.(txId) ?? null;
  return traceId === null ? {} : { traceId };
}

/**
 * The fields pino adds to every line (its `mixin`): `traceId` of the transaction the line names
 * (`txId`) when this leader traces it, else `traceId` and `spanId` of the span active where the
 * line was written (an HTTP request's). Nothing when tracing is off.
 */
export function traceLogFields(line: object): Record<string, string> {
  const txId = (line as { readonly txId?: unknown }).txId;
  if (typeof txId === 'string') {
    const fields = transactionTraceFields(txId);
    if (fields['traceId'] !== undefined) return fields;
  }
  const active = trace.getActiveSpan()?.spanContext();
  if (active === undefined || !isSpanContextValid(active)) return {};
  return { traceId: active.traceId, spanId: active.spanId };
}
