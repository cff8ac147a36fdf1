import { HttpException } from '@nestjs/common';
import type { CoordinatorError, CoordinatorErrorCode, FieldError } from './coordinator.error';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * `type` URIs are URNs: stable identifiers a client can compare, not pages to fetch. Each one is
 * described under "Problem types" in the OpenAPI document.
 */
const PROBLEM_TYPE_PREFIX = 'urn:verdict:problem:';

/** Codes the HTTP edge produces itself, next to the coordinator's own. */
export type EdgeErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'MALFORMED_REQUEST'
  | 'BAD_REQUEST'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'LEADER_UNREACHABLE'
  | 'LEADER_TIMEOUT'
  | 'NOT_READY'
  | 'HTTP_ERROR'
  | 'INTERNAL';

export type ProblemCode = CoordinatorErrorCode | EdgeErrorCode;

/** An RFC 9457 problem details body. Extension members (state, decision, errors, …) sit beside. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ProblemCode;
  readonly [extension: string]: unknown;
}

interface ProblemKind {
  readonly status: number;
  readonly title: string;
}

export const PROBLEM_KINDS: Readonly<Record<ProblemCode, ProblemKind>> = {
  TX_NOT_FOUND: { status: 404, title: 'Transaction not found' },
  TX_NOT_ACTIVE: { status: 409, title: 'Transaction is not in a state that allows this' },
  DECISION_EXISTS: { status: 409, title: 'A different decision is already recorded' },
  IDEMPOTENCY_MISMATCH: { status: 422, title: 'Idempotency key reused with a different request' },
  RESOLVE_NOT_ALLOWED: { status: 409, title: 'Manual resolution not allowed' },
  PARTICIPANT_ALREADY_ENLISTED: { status: 409, title: 'Participant already enlisted' },
  PARTICIPANT_LIMIT_REACHED: { status: 409, title: 'Too many participants' },
  PARTICIPANT_UNAVAILABLE: { status: 503, title: 'Participant unavailable' },
  MEMBER_NOT_FOUND: { status: 404, title: 'Cluster member not found' },
  CLUSTER_CHANGE_REJECTED: { status: 409, title: 'Cluster change rejected' },
  NOT_LEADER: { status: 503, title: 'This node is not the leader' },
  NO_LEADER: { status: 503, title: 'Cluster has no leader' },
  VALIDATION_FAILED: { status: 400, title: 'Request failed validation' },
  UNAUTHENTICATED: { status: 401, title: 'Missing or unknown API key' },
  FORBIDDEN: { status: 403, title: 'API key role not allowed here' },
  NOT_FOUND: { status: 404, title: 'No such route' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed on this route' },
  MALFORMED_REQUEST: { status: 400, title: 'Malformed request' },
  BAD_REQUEST: { status: 400, title: 'Bad request' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  LEADER_UNREACHABLE: { status: 503, title: 'Leader unreachable' },
  LEADER_TIMEOUT: { status: 504, title: 'Leader did not answer in time' },
  NOT_READY: { status: 503, title: 'Node not ready' },
  HTTP_ERROR: { status: 500, title: 'HTTP error' },
  INTERNAL: { status: 500, title: 'Internal error' },
};

/** A 503 without a hint from the coordinator still tells the client when to come back. */
export const RETRY_AFTER_MS_DEFAULT = 1_000;

export function problemType(code: ProblemCode): string {
  return PROBLEM_TYPE_PREFIX + code.toLowerCase().replaceAll('_', '-');
}

export function makeProblem(
  code: ProblemCode,
  detail: string,
  extensions: Readonly<Record<string, unknown>> = {},
  status: number = PROBLEM_KINDS[code].status,
): Problem {
  const standard = { type: problemType(code), title: PROBLEM_KINDS[code].title, status, detail, code };
  // Standard members first (readers look there), and an extension can never overwrite one.
  return { ...standard, ...extensions, ...standard };
}

export function problemFromCoordinatorError(error: CoordinatorError): Problem {
  const { code, ...extensions } = error.failure;
  return makeProblem(code, error.message, extensions);
}

/** An HTTP failure the edge raises itself (auth, validation, forwarding), already a problem. */
export class ProblemException extends HttpException {
  constructor(
    readonly problem: Problem,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(problem, problem.status);
  }
}

export function validationProblem(errors: readonly FieldError[]): ProblemException {
  const fields = errors.map((error) => error.field).join(', ');
  return new ProblemException(
    makeProblem('VALIDATION_FAILED', `fix these fields and send the request again: ${fields}`, { errors }),
  );
}

/** A method the route does not serve; `Allow` lists those it does. */
export function methodNotAllowed(method: string, path: string, allowed: readonly string[]): ProblemException {
  return new ProblemException(
    makeProblem('METHOD_NOT_ALLOWED', `${path} does not serve ${method}; it serves ${allowed.join(', ')}`, {
      allowed,
    }),
    { Allow: allowed.join(', ') },
  );
}

/** Seconds for `Retry-After` (a whole number, at least 1) from a hint in milliseconds. */
export function retryAfterSeconds(retryAfterMs: number): string {
  return String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
}
