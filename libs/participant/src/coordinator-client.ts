import { OutcomeSchema, TxIdSchema, type Outcome } from '@verdict/protocol';
import { z } from 'zod';

/** The coordinator's REST answer to `GET /v1/transactions/{id}/outcome`. */
const OutcomeResponseSchema = z.looseObject({
  txId: z.string(),
  outcome: OutcomeSchema.nullable(),
});

/** What the coordinator's begin (201) must carry; the rest of the transaction resource is passed on. */
const BeganSchema = z.looseObject({ id: TxIdSchema });

export interface BeginRequest {
  readonly participants: readonly { readonly name: string; readonly payload?: unknown }[];
  readonly timeoutMs?: number;
  readonly metadata?: Record<string, string>;
}

/** Why a call to the coordinator failed, in words an operator can act on. */
export class CoordinatorUnavailableError extends Error {
  override readonly name = 'CoordinatorUnavailableError';
}

export class CoordinatorRejectedError extends Error {
  override readonly name = 'CoordinatorRejectedError';
  constructor(
    message: string,
    readonly status: number,
    /** The coordinator's problem details, when it sent any. */
    readonly problem: unknown,
  ) {
    super(message);
  }
}

export interface CoordinatorClientOptions {
  readonly coordinatorUrl: string;
  readonly apiKey: string | undefined;
  readonly requestTimeoutMs: number;
}

/** The few REST calls a participant (or a service starting transactions) makes to the coordinator. */
export class CoordinatorClient {
  private readonly baseUrl: string;

  constructor(private readonly options: CoordinatorClientOptions) {
    this.baseUrl = options.coordinatorUrl.replace(/\/+$/, '');
  }

  /**
   * The recorded outcome of a transaction, or null while it is undecided (or unknown to the
   * coordinator's REST API): a participant never decides on its own, so null means "keep waiting".
   */
  async outcome(txId: string): Promise<Outcome | null> {
    const response = await this.request('GET', `/v1/transactions/${encodeURIComponent(txId)}/outcome`);
    if (response.status === 404) return null;
    const body = await this.expectOk(response, `outcome of ${txId}`);
    const parsed = OutcomeResponseSchema.safeParse(body);
    if (!parsed.success) {
      throw new CoordinatorRejectedError(
        `coordinator answered the outcome of ${txId} with an unexpected body: ${z.prettifyError(parsed.error)}`,
        response.status,
        body,
      );
    }
    return parsed.data.outcome;
  }

  /**
   * `POST /v1/transactions`: starts a global transaction. With an `idempotencyKey`, a retry after a
   * lost answer returns the same transaction instead of starting a second one.
   */
  async begin(request: BeginRequest, idempotencyKey?: string): Promise<string> {
    const response = await this.request(
      'POST',
      '/v1/transactions',
      request,
      idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey },
    );
    const body = await this.expectOk(response, 'beginning a transaction');
    const parsed = BeganSchema.safeParse(body);
    if (!parsed.success) {
      throw new CoordinatorRejectedError(
        `coordinator answered begin without a transaction id: ${z.prettifyError(parsed.error)}`,
        response.status,
        body,
      );
    }
    return parsed.data.id;
  }

  /**
   * `POST /v1/transactions/{id}/commit`: runs two-phase commit. Returns the coordinator's
   * transaction resource once the decision is durable (its `decision` says COMMIT or ABORT).
   * That takes a whole prepare phase, so the caller says how long to wait (`waitMs`); a timeout
   * leaves the outcome unknown, not failed.
   */
  async commit(txId: string, waitMs: number): Promise<unknown> {
    const response = await this.request(
      'POST',
      `/v1/transactions/${encodeURIComponent(txId)}/commit`,
      {},
      {},
      waitMs,
    );
    return this.expectOk(response, `committing ${txId}`);
  }

  /**
   * `POST /v1/transactions` with `commit`: begins and runs two-phase commit in one request, for a
   * service that knows every participant and its work at begin. Returns the transaction resource
   * with its decision, like `commit`. Give an `idempotencyKey`: after a timeout (outcome unknown)
   * the same call again answers with the transaction that key began, instead of a second one.
   */
  async beginAndCommit(
    request: BeginRequest,
    idempotencyKey: string,
    waitMs: number,
    wait: 'decision' | 'completion' = 'decision',
  ): Promise<unknown> {
    const response = await this.request(
      'POST',
      '/v1/transactions',
      { ...request, commit: wait },
      { 'idempotency-key': idempotencyKey },
      waitMs,
    );
    return this.expectOk(response, 'beginning and committing a transaction');
  }

  /** `POST /v1/transactions/{id}/participants`: joins a transaction that is still ACTIVE. */
  async enlist(txId: string, participant: { name: string; payload?: unknown }): Promise<void> {
    const response = await this.request(
      'POST',
      `/v1/transactions/${encodeURIComponent(txId)}/participants`,
      participant,
    );
    await this.expectOk(response, `enlisting ${participant.name} in ${txId}`);
  }

  /** A JSON request with the API key; network failures and timeouts become CoordinatorUnavailableError. */
  async request(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
    timeoutMs: number = this.options.requestTimeoutMs,
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders };
    if (this.options.apiKey !== undefined) headers['authorization'] = `Bearer ${this.options.apiKey}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(this.baseUrl + path, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const cause = error instanceof Error ? (error.cause instanceof Error ? error.cause : error) : null;
      throw new CoordinatorUnavailableError(
        `coordinator at ${this.baseUrl} is unreachable (${method} ${path}): ${cause?.message ?? String(error)}`,
      );
    }
  }

  /** The JSON body of a 2xx answer; anything else throws with the coordinator's own words. */
  async expectOk(response: Response, what: string): Promise<unknown> {
    const text = await response.text();
    let body: unknown = null;
    if (text.length > 0) {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        body = text;
      }
    }
    if (response.ok) return body;
    if (response.status === 502 || response.status === 503 || response.status === 504) {
      throw new CoordinatorUnavailableError(
        `coordinator at ${this.baseUrl} is unavailable (${what}): HTTP ${response.status} ${describeProblem(body)}`,
      );
    }
    throw new CoordinatorRejectedError(
      `coordinator refused ${what}: HTTP ${response.status} ${describeProblem(body)}`,
      response.status,
      body,
    );
  }
}

function describeProblem(body: unknown): string {
  if (typeof body === 'object' && body !== null) {
    const { code, detail } = body as { code?: unknown; detail?: unknown };
    const parts = [code, detail].filter((part): part is string => typeof part === 'string');
    if (parts.length > 0) return parts.join(': ');
  }
  return typeof body === 'string' ? body.slice(0, 200) : '';
}
