// The console's only way to the cluster: the public REST API (/v1) of the node that served the
// page, with the API key the operator typed. Response fields added recently (timeline, stats,
// httpUrl) are optional here, so the console also works against a node that lacks them.

export type Role = 'service' | 'operator';
export type TxState = 'ACTIVE' | 'PREPARING' | 'COMMITTING' | 'ABORTING' | 'COMMITTED' | 'ABORTED';
export const TX_STATES: readonly TxState[] = [
  'ACTIVE',
  'PREPARING',
  'COMMITTING',
  'ABORTING',
  'COMMITTED',
  'ABORTED',
];
export type BreakerState = 'CLOSED' | 'HALF_OPEN' | 'OPEN';
export type Outcome = 'COMMIT' | 'ABORT';

export interface Session {
  readonly role: Role;
  readonly actor: string;
}

export interface Decision {
  readonly outcome: Outcome;
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly reason: string;
  readonly resolvedBy: string | null;
  readonly decidedAt: string;
}

export interface ParticipantStatus {
  readonly name: string;
  readonly vote: 'YES' | 'NO' | 'READ_ONLY' | null;
  readonly voteReason: string | null;
  readonly ack: boolean;
  readonly ackedAt: string | null;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly breaker: BreakerState;
}

export interface TimelineEvent {
  readonly at: string;
  readonly kind: string;
  readonly participant: string | null;
  readonly detail: string;
  readonly raftIndex: number | null;
  readonly raftTerm: number | null;
  readonly actor: string | null;
}

export interface Transaction {
  readonly id: string;
  readonly state: TxState;
  readonly decision: Decision | null;
  readonly participants: readonly ParticipantStatus[];
  readonly createdAt: string;
  readonly deadline: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly stuck: { readonly since: string; readonly reason: string } | null;
  readonly finishedAt: string | null;
  readonly timeline?: readonly TimelineEvent[];
}

export interface TransactionPage {
  readonly items: readonly Transaction[];
  readonly nextCursor: string | null;
}

export interface Member {
  readonly nodeId: string;
  readonly role: string;
  readonly matchIndex: number | null;
  readonly lag: number | null;
  readonly lastContactMs: number | null;
  readonly httpUrl?: string | null;
}

export interface ClusterStats {
  readonly committed: number;
  readonly aborted: number;
  readonly inDoubt: number;
  readonly oldestInDoubtMs: number | null;
}

export interface ClusterStatus {
  readonly nodeId: string;
  readonly role: string;
  readonly term: number;
  readonly leaderId: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly members: readonly Member[];
  readonly breakers: readonly {
    readonly participant: string;
    readonly state: BreakerState;
    readonly since: string;
  }[];
  /** Absent from coordinators older than the last-seen record. */
  readonly participants?: readonly ClusterParticipant[];
  readonly stats?: ClusterStats;
}

/** A participant the node keeps a breaker for or read a reply from. */
export interface ClusterParticipant {
  readonly name: string;
  /** When the node last read a reply (vote, ack, outcome query) from it; null if never since it started. */
  readonly lastSeenAt: string | null;
  /** null when the node keeps no breaker for it (it never sent it a command). */
  readonly breaker: BreakerState | null;
}

export interface ListFilter {
  readonly state?: TxState;
  readonly participant?: string;
  readonly olderThanMs?: number;
  readonly stuck?: boolean;
  readonly limit?: number;
}

/** A failed call, with the problem details' sentence (`detail`) the API wrote for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(detail);
  }
}

/**
 * Longer than the coordinator's own wait for a forwarded request (30 s), so a slow leader yields
 * the node's LEADER_TIMEOUT problem, which says whether the action may have taken effect.
 */
const REQUEST_TIMEOUT_MS = 35_000;

export class Api {
  constructor(private readonly key: string) {}

  session(): Promise<Session> {
    return this.call<Session>('GET', '/v1/session');
  }

  list(filter: ListFilter): Promise<TransactionPage> {
    const query = new URLSearchParams();
    if (filter.state !== undefined) query.set('state', filter.state);
    if (filter.participant !== undefined) query.set('participant', filter.participant);
    if (filter.olderThanMs !== undefined) query.set('olderThanMs', String(filter.olderThanMs));
    if (filter.stuck !== undefined) query.set('stuck', String(filter.stuck));
    query.set('limit', String(filter.limit ?? 100));
    return this.call<TransactionPage>('GET', `/v1/transactions?${query.toString()}`);
  }

  transaction(txId: string): Promise<Transaction> {
    return this.call<Transaction>('GET', `/v1/transactions/${encodeURIComponent(txId)}`);
  }

  resolve(txId: string, outcome: 'commit' | 'abort', reason: string): Promise<Transaction> {
    return this.call<Transaction>('POST', `/v1/admin/transactions/${encodeURIComponent(txId)}/resolve`, {
      outcome,
      reason,
    });
  }

  retry(txId: string, reason: string): Promise<Transaction> {
    return this.call<Transaction>('POST', `/v1/admin/transactions/${encodeURIComponent(txId)}/retry`, {
      reason,
    });
  }

  cluster(): Promise<ClusterStatus> {
    return this.call<ClusterStatus>('GET', '/v1/cluster');
  }

  transferLeadership(to: string): Promise<ClusterStatus> {
    return this.call<ClusterStatus>('POST', '/v1/cluster/leadership-transfer', { to });
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers: {
          authorization: `Bearer ${this.key}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new ApiError(0, 'UNREACHABLE', `this coordinator node did not answer (${why})`);
    }
    const text = await response.text();
    const parsed = parseJson(text);
    if (!response.ok) {
      const problem = (parsed ?? {}) as { code?: unknown; detail?: unknown };
      throw new ApiError(
        response.status,
        typeof problem.code === 'string' ? problem.code : `HTTP_${response.status}`,
        typeof problem.detail === 'string' ? problem.detail : `${method} ${path} answered ${response.status}`,
      );
    }
    return parsed as T;
  }
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
