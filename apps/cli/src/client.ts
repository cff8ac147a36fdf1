// The CLI's only door to a cluster: JSON over the public REST API, every failure turned into a
// CliError with its exit code before any command sees it.
import type { z } from 'zod';
import { problemSchema } from './api';
import { CliError, EXIT_CODES, errorFromNetwork, errorFromProblem, usageError } from './errors';

export type Fetch = typeof fetch;

export interface ConnectionOptions {
  /** Base URL of any coordinator node; followers forward leader-bound requests themselves. */
  readonly server: string;
  readonly apiKey: string;
  readonly timeoutMs: number;
}

export interface VerdictClient {
  readonly server: string;
  get<T>(path: string, schema: z.ZodType<T>): Promise<T>;
  post<T>(path: string, body: unknown, schema: z.ZodType<T>): Promise<T>;
  /** The same request against another node (the leader, found from a follower's status). */
  at(server: string): VerdictClient;
}

/** Accepts `http://host:8081`, with or without a trailing slash or the `/v1` prefix. */
export function normalizeServer(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError(`--server/VERDICT_URL must be a URL like http://127.0.0.1:8081; got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(`--server/VERDICT_URL must be an http:// or https:// URL; got "${raw}"`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw usageError(`--server/VERDICT_URL must not carry a query or fragment; got "${raw}"`);
  }
  const path = url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  return `${url.origin}${path}`;
}

export function createClient(options: ConnectionOptions, fetchImpl: Fetch = fetch): VerdictClient {
  const server = normalizeServer(options.server);

  const send = async <T>(method: string, path: string, body: unknown, schema: z.ZodType<T>): Promise<T> => {
    let response: Response;
    let text: string;
    try {
      response = await fetchImpl(`${server}${path}`, {
        method,
        headers: {
          accept: 'application/json, application/problem+json',
          authorization: `Bearer ${options.apiKey}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      text = await response.text();
    } catch (error: unknown) {
      throw errorFromNetwork(error, server, options.timeoutMs);
    }
    const json = parseJson(text);
    if (!response.ok) {
      const problem = problemSchema.safeParse(json);
      if (problem.success) throw errorFromProblem(problem.data, server);
      throw new CliError(
        `the server at ${server} answered ${method} ${path} with HTTP ${response.status} and a body that is ` +
          `not a Verdict problem (${excerpt(text)}); is --server a Verdict coordinator node?`,
        response.status === 503 || response.status === 504 ? EXIT_CODES.unavailable : EXIT_CODES.failed,
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue === undefined ? '' : ` at ${issue.path.join('.') || '(top)'}: ${issue.message}`;
      throw new CliError(
        `the server at ${server} answered ${method} ${path} with a body the CLI does not understand${where}; ` +
          'is --server a Verdict coordinator node of a compatible version?',
        EXIT_CODES.failed,
      );
    }
    return parsed.data;
  };

  return {
    server,
    get: (path, schema) => send('GET', path, undefined, schema),
    post: (path, body, schema) => send('POST', path, body, schema),
    at: (other) => createClient({ ...options, server: other }, fetchImpl),
  };
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat === '') return 'empty';
  return flat.length > 120 ? `"${flat.slice(0, 120)}…"` : `"${flat}"`;
}
