// The load generator: clients that run transactions through the coordinator's REST API, one at a
// time each (closed loop), optionally paced to a rate. A client behaves like a careful service:
// every step is idempotent (begin carries an Idempotency-Key, enlist and commit are idempotent),
// so a step that meets no leader (503, connection refused or reset) is sent again to whichever
// node leads next, until the transaction's own deadline.
import { randomUUID } from 'node:crypto';
import { Agent } from 'undici';

/** The prepare deadline given at begin; a client gives up on a transaction after it too. */
export const TRANSACTION_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;
/** Before sending a step again after a failure: no busy loop during an election. */
const RETRY_PAUSE_MS = 20;

/**
 * enlist: begin, one enlist per participant, commit (3+ requests); at-begin: participants named
 * at begin, then commit (2); one-request: begin with participants and commit set (1).
 */
export type Variant = 'enlist' | 'at-begin' | 'one-request';

export interface TransactionRecord {
  readonly startedMs: number;
  readonly endedMs: number;
  /** Begin to the commit call's answer. */
  readonly latencyMs: number;
  /** The commit call alone; null when it never answered. */
  readonly commitMs: number | null;
  readonly outcome: 'COMMIT' | 'ABORT' | 'FAILED';
  /** Requests sent again after a failure (a failover, an overloaded node). */
  readonly retries: number;
  /** Why it failed or what the retries met, for the report. */
  readonly detail: string | null;
  /** The transaction's id, once begin answered. */
  readonly txId: string | null;
  /** The commit call on the epoch clock (the coordinator's timeline uses it too); null without an answer. */
  readonly commitCall: { readonly sentAtMs: number; readonly answeredAtMs: number } | null;
}

export interface Participant {
  readonly name: string;
  /** The work for this participant, given to it with PREPARE; per client so no two clients contend. */
  payload(client: number): unknown;
}

/** Where write requests go: the leader, found again whenever a request meets no leader. */
export interface LeaderDirectory {
  current(): string;
  /** Called after a request met no leader at `url`; resolves once a leader is known again. */
  lost(url: string): Promise<void>;
}

interface HttpAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** A failure worth sending the same step again for: no leader, or the node is gone. */
class NoLeader extends Error {}

/**
 * HTTP/1.1 keep-alive connections to whichever node leads, from undici: with a server in the same
 * process the pair spends about a third less CPU per request than with node:http (the load
 * generator shares the machine with what it measures).
 */
export class RestClient {
  private readonly agent: Agent;
  private readonly authorization: string;

  constructor(apiKey: string, connections: number) {
    this.authorization = `Bearer ${apiKey}`;
    // One connection per client and node: the REST API is served over reused connections.
    this.agent = new Agent({ connections, pipelining: 1 });
  }

  post(
    baseUrl: string,
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<HttpAnswer> {
    return this.send('POST', baseUrl, path, body, headers);
  }

  get(baseUrl: string, path: string): Promise<HttpAnswer> {
    return this.send('GET', baseUrl, path, undefined, {});
  }

  private async send(
    method: 'GET' | 'POST',
    baseUrl: string,
    path: string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<HttpAnswer> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const response = await this.agent.request({
      origin: new URL(baseUrl).origin,
      path,
      method,
      headers: {
        authorization: this.authorization,
        ...(text === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: text ?? null,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    const raw = await response.body.text();
    try {
      return {
        status: response.statusCode,
        body: (raw === '' ? {} : JSON.parse(raw)) as Record<string, unknown>,
      };
    } catch {
      return { status: response.statusCode, body: { detail: raw } };
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One transaction, in the requests `variant` names. `now` is the run's clock (ms).
 */
export async function runTransaction(
  client: RestClient,
  leaders: LeaderDirectory,
  participants: readonly Participant[],
  variant: Variant,
  clientIndex: number,
  now: () => number,
): Promise<TransactionRecord> {
  const startedMs = now();
  const deadlineMs = startedMs + TRANSACTION_TIMEOUT_MS;
  let retries = 0;
  let detail: string | null = null;
  // Sends one step until it gets an answer from a leader; null when the deadline passed first.
  const step = async (
    path: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<HttpAnswer | null> => {
    for (;;) {
      const url = leaders.current();
      try {
        const answer = await client.post(url, path, body, headers);
        if (answer.status !== 503) return answer;
        throw new NoLeader(`503 ${String(answer.body['code'])}`);
      } catch (error) {
        retries += 1;
        detail = error instanceof Error ? error.message : String(error);
        if (now() >= deadlineMs) return null;
        await leaders.lost(url);
        await sleep(RETRY_PAUSE_MS);
      }
    }
  };
  let txId: string | null = null;
  const failed = (why: string, commitMs: number | null = null): TransactionRecord => ({
    startedMs,
    endedMs: now(),
    latencyMs: now() - startedMs,
    commitMs,
    outcome: 'FAILED',
    retries,
    detail: why,
    txId,
    commitCall: null,
  });
  const named = participants.map((participant) => ({
    name: participant.name,
    payload: participant.payload(clientIndex),
  }));
  const idempotency = { 'idempotency-key': randomUUID() };
  // The call that runs two-phase commit (commit, or begin with commit) and its answer.
  const decided = (
    call: string,
    answer: HttpAnswer | null,
    expectedStatus: number,
    callStartedMs: number,
    sentAtMs: number,
  ): TransactionRecord => {
    const endedMs = now();
    const answeredAtMs = Date.now();
    if (typeof answer?.body['id'] === 'string') txId = answer.body['id'];
    if (answer === null || answer.status !== expectedStatus) {
      return failed(
        `${call}: ${answer === null ? (detail ?? 'no leader') : `HTTP ${answer.status} ${String(answer.body['code'])}`}`,
        endedMs - callStartedMs,
      );
    }
    const decision = answer.body['decision'] as { outcome?: unknown; reason?: unknown } | null | undefined;
    const outcome = decision?.outcome === 'COMMIT' ? 'COMMIT' : 'ABORT';
    return {
      startedMs,
      endedMs,
      latencyMs: endedMs - startedMs,
      commitMs: endedMs - callStartedMs,
      outcome,
      retries,
      detail:
        outcome === 'ABORT' ? `aborted: ${JSON.stringify(decision?.reason ?? 'no reason given')}` : detail,
      txId,
      commitCall: { sentAtMs, answeredAtMs },
    };
  };
  if (variant === 'one-request') {
    const sentAtMs = Date.now();
    const answer = await step(
      '/v1/transactions',
      { timeoutMs: TRANSACTION_TIMEOUT_MS, participants: named, commit: 'decision' },
      idempotency,
    );
    return decided('begin with commit', answer, 201, startedMs, sentAtMs);
  }
  const begun = await step(
    '/v1/transactions',
    { timeoutMs: TRANSACTION_TIMEOUT_MS, ...(variant === 'at-begin' ? { participants: named } : {}) },
    idempotency,
  );
  if (begun === null) return failed(`begin: ${detail ?? 'no leader'}`);
  const id = begun.body['id'];
  if (begun.status !== 201 || typeof id !== 'string') {
    return failed(`begin: HTTP ${begun.status} ${String(begun.body['code'])}`);
  }
  txId = id;
  if (variant === 'enlist') {
    for (const participant of named) {
      const enlisted = await step(`/v1/transactions/${txId}/participants`, participant);
      if (enlisted === null || enlisted.status !== 201) {
        return failed(
          `enlist: ${enlisted === null ? (detail ?? 'no leader') : `HTTP ${enlisted.status} ${String(enlisted.body['code'])}`}`,
        );
      }
    }
  }
  const commitStartedMs = now();
  const sentAtMs = Date.now();
  const committed = await step(`/v1/transactions/${txId}/commit`, undefined);
  return decided('commit', committed, 200, commitStartedMs, sentAtMs);
}

/** Who offers a level's load, and how: everything `runClients` takes but when to stop. */
export interface ClientLoad {
  readonly clients: number;
  readonly now: () => number;
  readonly transaction: (clientIndex: number) => Promise<TransactionRecord>;
  readonly ratePerSecond?: number;
  readonly stop: AbortSignal;
}

/**
 * `clients` closed-loop clients until `untilMs` on the run's clock. With `ratePerSecond`, each
 * client starts its transactions on a schedule so that together they offer that rate; a client
 * that falls behind starts at once and does not catch up on the starts it missed.
 */
export async function runClients(
  options: ClientLoad & { readonly untilMs: number },
): Promise<TransactionRecord[]> {
  const records: TransactionRecord[] = [];
  const intervalMs =
    options.ratePerSecond === undefined ? 0 : (1000 * options.clients) / options.ratePerSecond;
  const startedMs = options.now();
  const client = async (index: number): Promise<void> => {
    let nextStartMs = startedMs + (intervalMs * index) / options.clients;
    while (!options.stop.aborted) {
      if (intervalMs > 0) {
        const waitMs = nextStartMs - options.now();
        if (waitMs > 0) await sleep(waitMs);
        nextStartMs = Math.max(nextStartMs + intervalMs, options.now());
      }
      if (options.now() >= options.untilMs) return;
      records.push(await options.transaction(index + 1));
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, index) => client(index)));
  return records;
}

/**
 * `load` for `seconds` from now: its transactions, and the seconds it really took (the last
 * transactions end after the window; rates divide by this).
 */
export async function runFor(
  seconds: number,
  load: ClientLoad,
): Promise<{ records: TransactionRecord[]; seconds: number }> {
  const fromMs = load.now();
  const records = await runClients({ ...load, untilMs: fromMs + seconds * 1000 });
  return { records, seconds: (load.now() - fromMs) / 1000 };
}
