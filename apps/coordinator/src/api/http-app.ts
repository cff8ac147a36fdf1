import type { IncomingMessage } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Module, type DynamicModule, type ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import type { DestinationStream, Level } from 'pino';
import { loggingModule, requestIdFor } from '../observability/logging';
import { CoordinatorMetrics } from '../observability/metrics';
import { ObservabilityModule } from '../observability/observability.module';
import { HttpTracingInterceptor } from '../observability/tracing-http';
import { ApiModule } from './api.module';
import { BODY_LIMIT_BYTES_DEFAULT, FORWARD_TIMEOUT_MS_DEFAULT, type ApiOptions } from './api.options';
import { ApiKeys } from './auth/api-keys';
import type { Role } from './coordinator.port';
import { defaultConsoleDirectory, serveConsole } from './console.static';
import { buildOpenApiDocument, serveOpenApi } from './openapi';
import { makeProblem, methodNotAllowed, PROBLEM_CONTENT_TYPE } from './problem';

type ImportedModule = NonNullable<ModuleMetadata['imports']>[number];

export interface HttpAppOptions {
  readonly nodeId: string;
  /** `VERDICT_API_KEYS`: the raw `key:role,...` string, the parsed environment's list, or ApiKeys. */
  readonly apiKeys: string | readonly { readonly key: string; readonly role: Role }[] | ApiKeys;
  readonly logLevel?: Level | 'silent';
  /** Where JSON log lines go; stdout when absent. */
  readonly logDestination?: DestinationStream;
  readonly bodyLimitBytes?: number;
  readonly forwardTimeoutMs?: number;
  /** The host may build the metrics first to hand them to components created outside Nest. */
  readonly metrics?: CoordinatorMetrics;
  /** The built operator console (`dist/console` by default); a missing folder serves a 404 page. */
  readonly consoleDirectory?: string;
  /**
   * Whether requests get server spans: false when OpenTelemetry is off, so that no request pays
   * for a no-op span and its interceptor. Default true.
   */
  readonly tracing?: boolean;
}

/** Root of every HTTP app; its imports are given per call, so two apps in one process share no providers. */
@Module({})
class HttpAppModule {}

/**
 * Builds the coordinator's HTTP app on Fastify: REST API, auth, problem responses, leader
 * forwarding, OpenAPI (`/openapi.json`, `/docs`), the operator console (`/console`), health,
 * `/metrics` and JSON logs. `host` is the cluster host's module; it must export COORDINATOR
 * (CoordinatorPort) and READINESS (ReadinessPort). The app is initialized, not listening:
 *
 *   const env = loadEnvironment(); // config/environment.ts
 *   const app = await createHttpApp(ClusterHostModule, { nodeId: env.nodeId, apiKeys: env.apiKeys, logLevel: env.logLevel });
 *   app.enableShutdownHooks();
 *   await app.listen({ port: env.httpPort, host: '0.0.0.0' });
 */
export async function createHttpApp(
  host: ImportedModule,
  options: HttpAppOptions,
): Promise<NestFastifyApplication> {
  const apiOptions: ApiOptions = {
    nodeId: options.nodeId,
    bodyLimitBytes: options.bodyLimitBytes ?? BODY_LIMIT_BYTES_DEFAULT,
    forwardTimeoutMs: options.forwardTimeoutMs ?? FORWARD_TIMEOUT_MS_DEFAULT,
  };
  const apiKeys =
    options.apiKeys instanceof ApiKeys
      ? options.apiKeys
      : typeof options.apiKeys === 'string'
        ? ApiKeys.parse(options.apiKeys)
        : new ApiKeys(options.apiKeys);
  const metrics = options.metrics ?? new CoordinatorMetrics({ nodeId: options.nodeId, processMetrics: true });
  const root: DynamicModule = {
    module: HttpAppModule,
    imports: [
      loggingModule({
        level: options.logLevel ?? 'info',
        nodeId: options.nodeId,
        ...(options.logDestination !== undefined && { destination: options.logDestination }),
      }),
      ObservabilityModule.register(host, metrics),
      ApiModule.register(host, apiKeys, apiOptions),
    ],
  };
  const adapter = new FastifyAdapter({
    bodyLimit: apiOptions.bodyLimitBytes,
    genReqId: (request: IncomingMessage): string => requestIdFor(request),
    // Nest logs through pino (nestjs-pino); Fastify's own logger would log every request twice.
    logger: false,
    // A path segment the router refuses before any route runs (longer than 100 characters, or
    // bad percent-encoding) answered Fastify's own 414 or 400 JSON, not a problem.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
      const problem = makeProblem(
        'MALFORMED_REQUEST',
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? 'a path segment is longer than 100 characters; no id of this API is'
          : `the request path is not a valid URL: ${error.message}`,
      );
      void reply
        .status(problem.status)
        .header('Content-Type', PROBLEM_CONTENT_TYPE)
        .header('X-Request-Id', request.id)
        .send(JSON.stringify({ ...problem, requestId: request.id }));
    },
  });
  // JSON only: Nest's extra parsers (form bodies) stay off and Fastify's text/plain one is removed,
  // so any other content type is a 415 rather than a confusing validation error.
  const app = await NestFactory.create<NestFastifyApplication>(root, adapter, {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  // Outermost, before the APP_INTERCEPTORs: a request forwarded to the leader happens inside its span.
  if (options.tracing !== false) app.useGlobalInterceptors(new HttpTracingInterceptor());

  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeContentTypeParser('text/plain');
  // A route that exists for other methods: 405 with Allow (RFC 9110), before the body is read,
  // so a method Fastify parses differently (QUERY needs a Content-Type) still gets this answer.
  fastify.addHook('onRequest', (request, _reply, done) => {
    const path = request.url.split('?', 1)[0] ?? request.url;
    const allowed = request.is404
      ? fastify.supportedMethods.filter((method) => fastify.findRoute({ method, url: path }) !== null)
      : [];
    done(allowed.length > 0 ? methodNotAllowed(request.method, path, allowed) : undefined);
  });
  fastify.addHook('onSend', async (request, reply) => {
    void reply.header('X-Request-Id', request.id);
  });
  fastify.addHook('onResponse', async (request, reply) => {
    metrics.observeHttp(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
  });
  serveOpenApi(app, fastify, buildOpenApiDocument(app));
  serveConsole(fastify, options.consoleDirectory ?? defaultConsoleDirectory());
  await app.init();
  return app;
}
