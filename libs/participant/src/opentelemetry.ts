import type { Attributes } from '@opentelemetry/api';

/** What `startOpenTelemetry` returns; `shutdown` exports the spans still buffered, then stops. */
export interface OpenTelemetryHandle {
  readonly enabled: boolean;
  shutdown(): Promise<void>;
}

export interface OpenTelemetryOptions {
  /** `service.name` when neither OTEL_SERVICE_NAME nor OTEL_RESOURCE_ATTRIBUTES names one. */
  readonly defaultServiceName: string;
  /** Added to the resource of every span (e.g. which node or participant this process is). */
  readonly resourceAttributes?: Attributes;
  /** The environment to read; `process.env` by default. */
  readonly environment?: NodeJS.ProcessEnv;
}

const TRACES_EXPORTERS = ['otlp', 'console', 'none'];
const OTLP_PROTOCOLS = ['grpc', 'http/protobuf', 'http/json'];

/**
 * Whether the environment asks for traces to be exported: OTEL_TRACES_EXPORTER set to something
 * other than `none`, or an OTLP endpoint given (OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), and OTEL_SDK_DISABLED not `true`. Off otherwise: unlike the
 * OpenTelemetry default, a process that was told nothing exports nothing. Values the Node SDK would
 * only warn about and ignore are refused with an error naming the variable.
 */
export function tracesRequested(environment: NodeJS.ProcessEnv = process.env): boolean {
  const exporters = (environment['OTEL_TRACES_EXPORTER'] ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  for (const name of exporters) {
    if (!TRACES_EXPORTERS.includes(name)) {
      throw new Error(`OTEL_TRACES_EXPORTER: "${name}" is not one of ${TRACES_EXPORTERS.join(', ')}`);
    }
  }
  for (const variable of ['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL']) {
    const protocol = environment[variable]?.trim();
    if (protocol !== undefined && protocol !== '' && !OTLP_PROTOCOLS.includes(protocol)) {
      throw new Error(`${variable}: "${protocol}" is not one of ${OTLP_PROTOCOLS.join(', ')}`);
    }
  }
  if (environment['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return false;
  if (exporters.length > 0) return !exporters.includes('none');
  return [environment['OTEL_EXPORTER_OTLP_ENDPOINT'], environment['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']].some(
    (endpoint) => endpoint !== undefined && endpoint.trim() !== '',
  );
}

/**
 * Starts OpenTelemetry's Node SDK for traces only, configured by the standard `OTEL_*` variables
 * (exporter, endpoint, protocol, headers, sampler, batch delays, propagators, resource), when
 * {@link tracesRequested}. Call it before anything else starts, and `shutdown` after the
 * application has stopped so the last spans leave. Metrics and logs stay with the service's own
 * tooling (the coordinator has Prometheus `/metrics` and JSON logs).
 *
 * When tracing is off nothing is loaded: spans are the API's no-op ones.
 */
export async function startOpenTelemetry(options: OpenTelemetryOptions): Promise<OpenTelemetryHandle> {
  const environment = options.environment ?? process.env;
  if (!tracesRequested(environment)) return { enabled: false, shutdown: () => Promise.resolve() };
  const { startNodeSdk } = await import('@opentelemetry/sdk-node');
  const named =
    (environment['OTEL_SERVICE_NAME'] ?? '').trim() !== '' ||
    /(^|,)\s*service\.name\s*=/.test(environment['OTEL_RESOURCE_ATTRIBUTES'] ?? '');
  const sdk = startNodeSdk({
    metricReaders: [],
    logRecordProcessors: [],
    resourceAttributes: {
      ...options.resourceAttributes,
      ...(named ? {} : { 'service.name': options.defaultServiceName }),
    },
  });
  return { enabled: true, shutdown: () => sdk.shutdown() };
}
