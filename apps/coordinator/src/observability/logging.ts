import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { RequestMethod, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream, Level } from 'pino';
import { traceLogFields, transactionTraceFields } from './tracing-logs';

/** An incoming X-Request-Id is kept if it is a sane token, so a client's id follows the request. */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const TX_ID_IN_PATH = /\/transactions\/([0-9a-fA-F-]{36})(?:[/?]|$)/;
/** Probes and scrapes every few seconds would drown the request log. */
const QUIET_PATHS = /^\/(health\/|metrics)/;

/** The levels at which a line per request is written (pino-http writes them at `info`). */
const REQUEST_LINE_LEVELS: ReadonlySet<LoggingOptions['level']> = new Set(['trace', 'debug', 'info']);

const requestIds = new WeakMap<IncomingMessage, string>();

/**
 * One id per request, shared by Fastify (`request.id`, problem bodies, the X-Request-Id answer
 * header) and the request logger, which both see the same Node.js request object.
 */
export function requestIdFor(request: IncomingMessage): string {
  const known = requestIds.get(request);
  if (known !== undefined) return known;
  const header = request.headers['x-request-id'];
  const id = typeof header === 'string' && REQUEST_ID_PATTERN.test(header) ? header : randomUUID();
  requestIds.set(request, id);
  return id;
}

/** Fastify's middleware layer rewrites `url` while a request is handled; `originalUrl` stays. */
function pathOf(request: IncomingMessage & { readonly originalUrl?: string }): string {
  return request.originalUrl ?? request.url ?? '';
}

export interface LoggingOptions {
  readonly level: Level | 'silent';
  readonly nodeId: string;
  /** Where JSON lines go; stdout when absent. Tests capture logs here. */
  readonly destination?: DestinationStream;
}

/**
 * Structured JSON logs (nestjs-pino): one line per request with its id, the txId when the path
 * names one, and no credentials: Authorization and cookies are redacted before serialization.
 */
export function loggingModule(options: LoggingOptions): DynamicModule {
  const pinoOptions = {
    level: options.level,
    base: { nodeId: options.nodeId },
    mixin: traceLogFields,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie'],
      censor: '[redacted]',
    },
    genReqId: (request: IncomingMessage): string => requestIdFor(request),
    customProps: (request: IncomingMessage): Record<string, string> => {
      const txId = TX_ID_IN_PATH.exec(pathOf(request))?.[1];
      return txId === undefined ? {} : { txId, ...transactionTraceFields(txId) };
    },
    autoLogging: { ignore: (request: IncomingMessage): boolean => QUIET_PATHS.test(pathOf(request)) },
  };
  return LoggerModule.forRoot({
    // nestjs-pino's default route, `{/*splat}`, matches nothing on Nest 12's Fastify adapter.
    // Above `info` there is no request line to write, yet the request logger would still build a
    // child logger per request, serializing and redacting its headers: a few per cent of a busy
    // leader's CPU. Errors keep their request id: the problem filter logs them itself.
    forRoutes: REQUEST_LINE_LEVELS.has(options.level) ? [{ path: '{*path}', method: RequestMethod.ALL }] : [],
    pinoHttp: options.destination === undefined ? pinoOptions : [pinoOptions, options.destination],
  });
}
