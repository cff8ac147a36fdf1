// Every way a CLI run fails, each with its own exit code so a script can tell "retry later" from
// "fix the key" from "the transaction was already decided" without reading the text.
import type { Decision, Problem } from './api';

export const EXIT_CODES = {
  ok: 0,
  /** A failure the CLI has no better word for (a 500, an answer that is not Verdict's). */
  failed: 1,
  /** Bad flags or arguments, found before anything was sent. */
  usage: 2,
  /** No HTTP answer at all: nothing listens at the URL, DNS, TLS, or the timeout passed. */
  unreachable: 3,
  /** 503/504: no leader, leader unreachable, node not ready. Retrying later is the fix. */
  unavailable: 4,
  /** 401: no API key, or one the cluster does not accept. */
  unauthenticated: 5,
  /** 403: the key's role may not do this (operator actions with a service key). */
  forbidden: 6,
  /** 404: no such transaction (or member). */
  notFound: 7,
  /** 409: the transaction's state forbids it; a recorded decision never changes. */
  conflict: 8,
  /** 400/413/415/422: the server rejected the request's content, field by field. */
  rejected: 9,
} as const;
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

// No parameter properties here or anywhere in apps/cli: bin/verdict.mjs runs these files with
// Node's type stripping, which accepts erasable TypeScript only (erasable-syntax.spec.ts checks).
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: ExitCode;
  /** The server's problem body when there was one, for --json callers and tests. */
  readonly problem: Problem | null;

  constructor(message: string, exitCode: ExitCode, problem: Problem | null = null) {
    super(message);
    this.exitCode = exitCode;
    this.problem = problem;
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, EXIT_CODES.usage);
}

/** "by the coordinator" or "by operator:3f2a…": who recorded a decision. */
export function decidedBy(decision: Decision): string {
  return decision.resolvedBy === null ? 'the coordinator' : decision.resolvedBy;
}

/** One line naming a recorded decision, the way an operator needs it before acting. */
export function describeDecision(decision: Decision): string {
  return (
    `${decision.outcome} at Raft index ${decision.raftIndex} (term ${decision.raftTerm}) ` +
    `by ${decidedBy(decision)}: ${decision.reason}`
  );
}

/**
 * Maps a problem+json answer to the message and exit code the operator sees. The server's
 * `detail` already names the rule and the fix; the CLI adds what only it knows (which flag or
 * variable to change) and keeps the server's words.
 */
export function errorFromProblem(problem: Problem, server: string): CliError {
  const detail = problem.detail;
  switch (problem.status) {
    case 401:
      return new CliError(
        `the server at ${server} refused the API key (401 ${problem.code}): ${detail}. ` +
          'Pass a key the cluster accepts with --api-key or VERDICT_API_KEY.',
        EXIT_CODES.unauthenticated,
        problem,
      );
    case 403:
      return new CliError(
        `not allowed (403 ${problem.code}): ${detail}. ` +
          `This needs an API key with role ${problem.requiredRole ?? 'operator'}.`,
        EXIT_CODES.forbidden,
        problem,
      );
    case 404:
      return new CliError(`not found (404 ${problem.code}): ${detail}`, EXIT_CODES.notFound, problem);
    case 409:
      return conflictError(problem);
    case 503:
    case 504:
      return new CliError(
        `the cluster cannot answer now (${problem.status} ${problem.code}): ${detail}. ` +
          `Retry in ${retryAfterText(problem)}; if it persists, check that a majority of the coordinator nodes run ` +
          '(verdict cluster status on each node).',
        EXIT_CODES.unavailable,
        problem,
      );
    case 400:
    case 413:
    case 415:
    case 422:
      return new CliError(rejectedMessage(problem), EXIT_CODES.rejected, problem);
    default:
      return new CliError(
        `the server answered ${problem.status} ${problem.code}: ${detail}` +
          (problem.requestId === undefined ? '' : ` (request id ${problem.requestId})`),
        EXIT_CODES.failed,
        problem,
      );
  }
}

function conflictError(problem: Problem): CliError {
  const decision = problem.decision;
  if (problem.code === 'DECISION_EXISTS' && decision !== undefined) {
    return new CliError(
      `already decided ${describeDecision(decision)}. A decision never changes; ` +
        'the coordinator drives every participant to it.',
      EXIT_CODES.conflict,
      problem,
    );
  }
  const state = problem.state === undefined ? '' : ` (state ${problem.state})`;
  return new CliError(
    `refused (409 ${problem.code})${state}: ${problem.detail}`,
    EXIT_CODES.conflict,
    problem,
  );
}

function rejectedMessage(problem: Problem): string {
  const lines = [`the server rejected the request (${problem.status} ${problem.code}): ${problem.detail}`];
  for (const error of problem.errors ?? []) lines.push(`  ${error.field}: ${error.messages.join('; ')}`);
  return lines.join('\n');
}

function retryAfterText(problem: Problem): string {
  const ms = problem.retryAfterMs ?? 1_000;
  return ms < 1_000 ? `${ms} ms` : `${Math.ceil(ms / 1_000)} s`;
}

/**
 * fetch() failed without an HTTP answer. Node puts the socket error (ECONNREFUSED, ENOTFOUND,
 * …) in `cause`; the timeout arrives as a TimeoutError.
 */
export function errorFromNetwork(error: unknown, server: string, timeoutMs: number): CliError {
  const why = networkReason(error, timeoutMs);
  return new CliError(
    `cannot reach the Verdict server at ${server} (${why}). Check that a coordinator node runs there ` +
      'and that --server or VERDICT_URL names its HTTP address (npm start prints each node’s URL).',
    EXIT_CODES.unreachable,
  );
}

function networkReason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${timeoutMs} ms`;
  }
  const cause = error instanceof Error ? error.cause : undefined;
  const code =
    typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string'
      ? cause.code
      : undefined;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused: nothing listens on that port';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'the connection was closed before an answer';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to the host';
    default: {
      const text =
        cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
      return code === undefined ? text : `${code}: ${text}`;
    }
  }
}
