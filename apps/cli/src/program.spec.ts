// Argument parsing and request building, with fetch replaced by a table of answers. What the
// cluster really answers is covered by test/integration/cli.test.ts against real nodes.
import { describe, expect, it } from 'vitest';
import type { ClusterStatus, Transaction } from './api';
import type { Fetch } from './client';
import { EXIT_CODES } from './errors';
import { run } from './program';

const TX_ID = '0193a5c4-0000-7000-8000-000000000001';
const KEY = 'operator-key-0123456789abcdef';

interface Sent {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | null;
  readonly body: unknown;
}

type Answer = { status: number; body: unknown; contentType?: string };

function fakeFetch(answers: Readonly<Record<string, Answer | Answer[]>>): { fetch: Fetch; sent: Sent[] } {
  const sent: Sent[] = [];
  const fetchImpl = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = init?.method ?? 'GET';
    const headers = new Headers(init?.headers);
    sent.push({
      method,
      url,
      authorization: headers.get('authorization'),
      body: typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined,
    });
    const entry = answers[`${method} ${url}`];
    const answer = Array.isArray(entry) ? entry.shift() : entry;
    if (answer === undefined) return Promise.reject(new TypeError(`no answer scripted for ${method} ${url}`));
    return Promise.resolve(
      new Response(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body), {
        status: answer.status,
        headers: { 'content-type': answer.contentType ?? 'application/json' },
      }),
    );
  };
  return { fetch: fetchImpl, sent };
}

async function cli(
  argv: string[],
  answers: Readonly<Record<string, Answer | Answer[]>> = {},
  env: Record<string, string> = { VERDICT_URL: 'http://n1:8081', VERDICT_API_KEY: KEY },
): Promise<{ code: number; stdout: string; stderr: string; sent: Sent[] }> {
  const { fetch, sent } = fakeFetch(answers);
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env,
    fetch,
    now: () => new Date('2026-11-25T13:10:00.000Z'),
    columns: null,
  });
  return { code, stdout, stderr, sent };
}

const transaction: Transaction = {
  id: TX_ID,
  state: 'COMMITTED',
  decision: {
    outcome: 'COMMIT',
    raftIndex: 42,
    raftTerm: 3,
    reason: 'all participants voted YES',
    resolvedBy: null,
    decidedAt: '2026-11-25T13:00:00.000Z',
  },
  participants: [],
  createdAt: '2026-11-25T12:59:59.000Z',
  deadline: '2026-11-25T13:00:29.000Z',
  metadata: {},
  stuck: null,
  finishedAt: '2026-11-25T13:00:01.000Z',
  timeline: [],
};

const page = { status: 200, body: { items: [transaction], nextCursor: null } };

describe('tx list', () => {
  it('turns every filter into the query the API reads', async () => {
    const result = await cli(
      [
        'tx',
        'list',
        '--state',
        'PREPARING',
        '--stuck',
        '--participant',
        'bank-b',
        '--older-than',
        '5m',
        '--limit',
        '20',
      ],
      {
        'GET http://n1:8081/v1/transactions?state=PREPARING&stuck=true&participant=bank-b&olderThanMs=300000&limit=20':
          page,
      },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(EXIT_CODES.ok);
    expect(result.sent[0]?.authorization).toBe(`Bearer ${KEY}`);
    expect(result.stdout).toContain(TX_ID);
  });

  it('flags win over the environment; a pasted /v1/ suffix is fine', async () => {
    const result = await cli(
      ['--server', 'http://n2:8082/v1/', '--api-key', 'other-key-0123456789', 'tx', 'list'],
      {
        'GET http://n2:8082/v1/transactions': page,
      },
    );
    expect(result.code).toBe(EXIT_CODES.ok);
    expect(result.sent[0]?.authorization).toBe('Bearer other-key-0123456789');
  });

  it('--json: stdout is the page as JSON and nothing else', async () => {
    const result = await cli(['tx', 'list', '--json'], { 'GET http://n1:8081/v1/transactions': page });
    expect(JSON.parse(result.stdout)).toEqual(page.body);
  });

  it.each([
    [['--older-than', '5'], /"5" is not a duration/],
    [['--limit', '0'], /give a whole number of transactions, at least 1/],
    [['--limit', 'ten'], /give a whole number/],
    [['--bogus'], /unknown option '--bogus'/],
  ])('refuses %j before sending anything (usage, exit 2)', async (flags, message) => {
    const result = await cli(['tx', 'list', ...flags]);
    expect(result.code).toBe(EXIT_CODES.usage);
    expect(result.stderr).toMatch(message);
    expect(result.sent).toEqual([]);
  });
});

describe('connection settings', () => {
  it('no server: exit 2, names the flag and the variable', async () => {
    const result = await cli(['tx', 'list'], {}, { VERDICT_API_KEY: KEY });
    expect(result.code).toBe(EXIT_CODES.usage);
    expect(result.stderr).toContain('pass --server <url> or set VERDICT_URL');
  });

  it('no key: exit 5 without asking the server', async () => {
    const result = await cli(['tx', 'list'], {}, { VERDICT_URL: 'http://n1:8081' });
    expect(result.code).toBe(EXIT_CODES.unauthenticated);
    expect(result.stderr).toContain('no API key given: set VERDICT_API_KEY (or pass --api-key)');
    expect(result.sent).toEqual([]);
  });

  it('a server that is not an http URL', async () => {
    const result = await cli(['--server', 'ftp://n1', 'tx', 'list']);
    expect(result.code).toBe(EXIT_CODES.usage);
    expect(result.stderr).toContain('must be an http:// or https:// URL; got "ftp://n1"');
  });

  it('an answer that is not Verdict’s: exit 1, and asks whether --server is right', async () => {
    const result = await cli(['tx', 'list'], {
      'GET http://n1:8081/v1/transactions': {
        status: 200,
        body: '<html>hello</html>',
        contentType: 'text/html',
      },
    });
    expect(result.code).toBe(EXIT_CODES.failed);
    expect(result.stderr).toContain('is --server a Verdict coordinator node');
  });

  it('--help exits 0 and lists the exit codes', async () => {
    const result = await cli(['--help']);
    expect(result.code).toBe(EXIT_CODES.ok);
    expect(result.stdout).toContain('3 server unreachable, 4 no leader or not ready (retry)');
  });
});

describe('tx resolve', () => {
  const url = `POST http://n1:8081/v1/admin/transactions/${TX_ID}/resolve`;

  it('sends the outcome and the reason', async () => {
    const aborted = {
      ...transaction,
      state: 'ABORTING',
      decision: {
        ...transaction.decision,
        outcome: 'ABORT',
        resolvedBy: 'operator:0a1b2c3d4e5f',
        reason: 'gone',
      },
    };
    const result = await cli(['tx', 'resolve', TX_ID, '--abort', '--reason', 'gone'], {
      [url]: { status: 200, body: aborted },
    });
    expect(result.sent[0]?.body).toEqual({ outcome: 'abort', reason: 'gone' });
    expect(result.code).toBe(EXIT_CODES.ok);
    expect(result.stdout).toContain(
      `Recorded for ${TX_ID}: ABORT at Raft index 42 (term 3) by operator:0a1b2c3d4e5f: gone`,
    );
  });

  it.each([
    [['--reason', 'x'], /say which decision to record: --commit or --abort/],
    [['--commit', '--abort', '--reason', 'x'], /option '--commit' cannot be used with option '--abort'/],
    [['--commit'], /required option '--reason <text>' not specified/],
  ])('%j is a usage error', async (flags, message) => {
    const result = await cli(['tx', 'resolve', TX_ID, ...flags]);
    expect(result.code).toBe(EXIT_CODES.usage);
    expect(result.stderr).toMatch(message);
    expect(result.sent).toEqual([]);
  });

  it('a finished transaction (404 from the live table) is explained with its recorded decision', async () => {
    const result = await cli(['tx', 'resolve', TX_ID, '--abort', '--reason', 'x'], {
      [url]: {
        status: 404,
        body: {
          status: 404,
          code: 'TX_NOT_FOUND',
          title: 'Transaction not found',
          detail: `no live transaction ${TX_ID}`,
        },
      },
      [`GET http://n1:8081/v1/transactions/${TX_ID}`]: { status: 200, body: transaction },
    });
    expect(result.code).toBe(EXIT_CODES.conflict);
    expect(result.stderr).toContain(
      `transaction ${TX_ID} is COMMITTED: already decided COMMIT at Raft index 42 (term 3) by the coordinator: all participants voted YES`,
    );
  });

  it('an id nobody knows stays a 404', async () => {
    const notFound = {
      status: 404,
      body: { status: 404, code: 'TX_NOT_FOUND', title: 'Transaction not found', detail: 'no transaction' },
    };
    const result = await cli(['tx', 'retry', TX_ID], {
      [`POST http://n1:8081/v1/admin/transactions/${TX_ID}/retry`]: notFound,
      [`GET http://n1:8081/v1/transactions/${TX_ID}`]: notFound,
    });
    expect(result.code).toBe(EXIT_CODES.notFound);
  });
});

describe('tx retry', () => {
  const url = `POST http://n1:8081/v1/admin/transactions/${TX_ID}/retry`;
  const preparing = { ...transaction, state: 'PREPARING', decision: null, finishedAt: null };

  it('without --reason: no body at all, as older coordinators expect', async () => {
    const result = await cli(['tx', 'retry', TX_ID], { [url]: { status: 200, body: preparing } });
    expect(result.code).toBe(EXIT_CODES.ok);
    expect(result.sent[0]?.body).toBeUndefined();
  });

  it('--reason is sent in the body', async () => {
    const result = await cli(['tx', 'retry', TX_ID, '--reason', 'bank-b is back'], {
      [url]: { status: 200, body: preparing },
    });
    expect(result.code).toBe(EXIT_CODES.ok);
    expect(result.sent[0]?.body).toEqual({ reason: 'bank-b is back' });
  });

  it("a reason the server refuses (400): exit 9 with the server's words, field by field", async () => {
    const result = await cli(['tx', 'retry', TX_ID, '--reason', 'x'.repeat(501)], {
      [url]: {
        status: 400,
        body: {
          status: 400,
          code: 'VALIDATION_FAILED',
          title: 'Request validation failed',
          detail: 'the request is invalid',
          errors: [{ field: 'reason', messages: ['reason must be shorter than or equal to 500 characters'] }],
        },
      },
    });
    expect(result.code).toBe(EXIT_CODES.rejected);
    expect(result.stderr).toContain('reason: reason must be shorter than or equal to 500 characters');
  });
});

describe('cluster status', () => {
  const follower: ClusterStatus = {
    nodeId: 'n2',
    role: 'FOLLOWER',
    term: 4,
    leaderId: 'n1',
    commitIndex: 9,
    appliedIndex: 9,
    members: [
      {
        nodeId: 'n1',
        role: 'LEADER',
        matchIndex: null,
        lag: null,
        lastContactMs: null,
        httpUrl: 'http://n1:8081',
      },
      {
        nodeId: 'n2',
        role: 'FOLLOWER',
        matchIndex: null,
        lag: null,
        lastContactMs: null,
        httpUrl: 'http://n2:8082',
      },
    ],
    breakers: [],
  };
  const leader: ClusterStatus = { ...follower, nodeId: 'n1', role: 'LEADER' };

  it("asked of a follower, shows the leader's view and says how it got it", async () => {
    const result = await cli(['--server', 'http://n2:8082', 'cluster', 'status'], {
      'GET http://n2:8082/v1/cluster': { status: 200, body: follower },
      'GET http://n1:8081/v1/cluster': { status: 200, body: leader },
    });
    expect(result.code).toBe(EXIT_CODES.ok);
    expect(result.stdout).toContain(
      'Cluster as node n1 (LEADER) sees it, reached at http://n1:8081 through n2',
    );
  });

  it("falls back to the follower's view when the leader cannot be reached", async () => {
    const result = await cli(['--server', 'http://n2:8082', 'cluster', 'status'], {
      'GET http://n2:8082/v1/cluster': { status: 200, body: follower },
    });
    expect(result.code).toBe(EXIT_CODES.ok);
    expect(result.stdout).toContain(
      'Cluster as node n2 (FOLLOWER) sees it, the leader n1 at http://n1:8081 could not be asked',
    );
  });
});
