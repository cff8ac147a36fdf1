import { describe, expect, it } from 'vitest';
import type { Problem } from './api';
import { EXIT_CODES, errorFromNetwork, errorFromProblem } from './errors';

const SERVER = 'http://127.0.0.1:8081';

function problem(status: number, code: string, detail: string, extensions: Partial<Problem> = {}): Problem {
  return { status, code, detail, title: 't', requestId: 'req-1', ...extensions };
}

describe('errorFromProblem: each HTTP failure gets its own exit code and says what to do', () => {
  it('401: names the key flag and variable', () => {
    const error = errorFromProblem(
      problem(401, 'UNAUTHENTICATED', 'the API key is not one this cluster accepts'),
      SERVER,
    );
    expect(error.exitCode).toBe(EXIT_CODES.unauthenticated);
    expect(error.message).toContain(`the server at ${SERVER} refused the API key`);
    expect(error.message).toContain('--api-key or VERDICT_API_KEY');
  });

  it('403: names the role needed', () => {
    const error = errorFromProblem(
      problem(403, 'FORBIDDEN', 'this route needs a key with role operator; the key sent has role service', {
        requiredRole: 'operator',
      }),
      SERVER,
    );
    expect(error.exitCode).toBe(EXIT_CODES.forbidden);
    expect(error.message).toMatch(/needs an API key with role operator\.$/);
  });

  it('404', () => {
    const error = errorFromProblem(problem(404, 'TX_NOT_FOUND', 'no live transaction x'), SERVER);
    expect(error.exitCode).toBe(EXIT_CODES.notFound);
    expect(error.message).toBe('not found (404 TX_NOT_FOUND): no live transaction x');
  });

  it('409 DECISION_EXISTS: the recorded decision, its Raft position and who made it', () => {
    const decision = {
      outcome: 'COMMIT' as const,
      raftIndex: 42,
      raftTerm: 3,
      reason: 'all participants voted YES',
      resolvedBy: null,
      decidedAt: '2026-11-25T13:00:00.000Z',
    };
    const byCoordinator = errorFromProblem(problem(409, 'DECISION_EXISTS', 'decided', { decision }), SERVER);
    expect(byCoordinator.exitCode).toBe(EXIT_CODES.conflict);
    expect(byCoordinator.message).toMatch(
      /^already decided COMMIT at Raft index 42 \(term 3\) by the coordinator: all participants voted YES\. /,
    );
    const byOperator = errorFromProblem(
      problem(409, 'DECISION_EXISTS', 'decided', {
        decision: {
          ...decision,
          outcome: 'ABORT',
          resolvedBy: 'operator:0a1b2c3d4e5f',
          reason: 'bank-b is gone',
        },
      }),
      SERVER,
    );
    expect(byOperator.message).toContain(
      'already decided ABORT at Raft index 42 (term 3) by operator:0a1b2c3d4e5f: bank-b is gone',
    );
  });

  it('409 without a decision: the state and the server’s rule', () => {
    const error = errorFromProblem(
      problem(409, 'RESOLVE_NOT_ALLOWED', 'COMMIT needs a known YES vote from every participant', {
        state: 'PREPARING',
      }),
      SERVER,
    );
    expect(error.exitCode).toBe(EXIT_CODES.conflict);
    expect(error.message).toBe(
      'refused (409 RESOLVE_NOT_ALLOWED) (state PREPARING): COMMIT needs a known YES vote from every participant',
    );
  });

  it('503: says to retry, when, and what to check', () => {
    const error = errorFromProblem(
      problem(503, 'NO_LEADER', 'cluster has no leader; retry later', { retryAfterMs: 500 }),
      SERVER,
    );
    expect(error.exitCode).toBe(EXIT_CODES.unavailable);
    expect(error.message).toContain('Retry in 500 ms');
    expect(error.message).toContain('a majority of the coordinator nodes run');
    expect(errorFromProblem(problem(504, 'LEADER_TIMEOUT', 'slow'), SERVER).message).toContain(
      'Retry in 1 s',
    );
  });

  it('400: every field error on its own line', () => {
    const error = errorFromProblem(
      problem(400, 'VALIDATION_FAILED', 'fix these fields and send the request again: state, limit', {
        errors: [
          { field: 'state', messages: ['state must be one of the following values: ACTIVE, PREPARING'] },
          { field: 'limit', messages: ['limit must not be greater than 500', 'limit must be an integer'] },
        ],
      }),
      SERVER,
    );
    expect(error.exitCode).toBe(EXIT_CODES.rejected);
    expect(error.message.split('\n')).toEqual([
      'the server rejected the request (400 VALIDATION_FAILED): fix these fields and send the request again: state, limit',
      '  state: state must be one of the following values: ACTIVE, PREPARING',
      '  limit: limit must not be greater than 500; limit must be an integer',
    ]);
  });

  it('500: the request id to find the log line', () => {
    const error = errorFromProblem(problem(500, 'INTERNAL', 'the coordinator failed unexpectedly'), SERVER);
    expect(error.exitCode).toBe(EXIT_CODES.failed);
    expect(error.message).toContain('(request id req-1)');
  });
});

describe('errorFromNetwork: no HTTP answer', () => {
  const refused = new TypeError('fetch failed', {
    cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
  });

  it('names the URL, the cause and what to check', () => {
    const error = errorFromNetwork(refused, SERVER, 15_000);
    expect(error.exitCode).toBe(EXIT_CODES.unreachable);
    expect(error.message).toBe(
      `cannot reach the Verdict server at ${SERVER} (connection refused: nothing listens on that port). ` +
        'Check that a coordinator node runs there and that --server or VERDICT_URL names its HTTP address ' +
        '(npm start prints each node’s URL).',
    );
  });

  it('a timeout says how long it waited', () => {
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(errorFromNetwork(timeout, SERVER, 2_000).message).toContain('(no answer within 2000 ms)');
  });

  it('an unresolvable host', () => {
    const notFound = new TypeError('fetch failed', {
      cause: Object.assign(new Error('getaddrinfo'), { code: 'ENOTFOUND' }),
    });
    expect(errorFromNetwork(notFound, SERVER, 1).message).toContain('(the host name does not resolve)');
  });
});
