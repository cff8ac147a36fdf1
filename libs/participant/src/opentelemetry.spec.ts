import { describe, expect, it } from 'vitest';
import { startOpenTelemetry, tracesRequested } from './opentelemetry';

describe('whether traces are exported', () => {
  it.each([
    ['nothing set', {}, false],
    ['an exporter', { OTEL_TRACES_EXPORTER: 'otlp' }, true],
    ['console', { OTEL_TRACES_EXPORTER: 'console' }, true],
    ['none', { OTEL_TRACES_EXPORTER: 'none' }, false],
    ['an endpoint alone', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, true],
    [
      'a traces endpoint alone',
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' },
      true,
    ],
    [
      'an endpoint with exporter none',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_TRACES_EXPORTER: 'none' },
      false,
    ],
    ['the SDK disabled', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }, false],
    ['only a service name', { OTEL_SERVICE_NAME: 'bank-a' }, false],
  ] satisfies [string, NodeJS.ProcessEnv, boolean][])('%s', (_name, environment, expected) => {
    expect(tracesRequested(environment)).toBe(expected);
  });

  it('refuses an exporter or protocol the SDK would ignore, naming the variable', () => {
    expect(() => tracesRequested({ OTEL_TRACES_EXPORTER: 'jaeger' })).toThrow(
      'OTEL_TRACES_EXPORTER: "jaeger" is not one of otlp, console, none',
    );
    expect(() => tracesRequested({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http' })).toThrow(
      'OTEL_EXPORTER_OTLP_PROTOCOL: "http" is not one of grpc, http/protobuf, http/json',
    );
  });

  it('off by default: nothing is started and shutdown does nothing', async () => {
    const handle = await startOpenTelemetry({ defaultServiceName: 'test', environment: {} });
    expect(handle.enabled).toBe(false);
    await expect(handle.shutdown()).resolves.toBeUndefined();
  });
});
