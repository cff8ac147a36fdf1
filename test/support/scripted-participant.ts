// A participant for coordinator tests: the real SDK (libs/participant) over the real broker, with
// an in-memory service whose votes the test scripts through each transaction's work payload.
import type { Outcome } from '@verdict/protocol';
import {
  startParticipant,
  type DecisionRequest,
  type ParticipantHandle,
  type ParticipantService,
  type PrepareRequest,
  type PrepareResult,
} from '@verdict/participant';

/** Put `{ vote: 'NO' }` (or 'READ_ONLY', or 'SILENT' to never answer) in a participant's payload. */
export interface ScriptedWork {
  readonly vote?: 'YES' | 'NO' | 'READ_ONLY' | 'SILENT';
}

export interface BranchRecord {
  vote: 'YES' | 'NO' | 'READ_ONLY' | null;
  outcome: Outcome | null;
  /** How often each kind of command reached the service (duplicates the SDK absorbs are not counted). */
  prepares: number;
  decisions: number;
}

export class ScriptedService implements ParticipantService {
  readonly branches = new Map<string, BranchRecord>();

  private branch(txId: string): BranchRecord {
    let branch = this.branches.get(txId);
    if (branch === undefined) {
      branch = { vote: null, outcome: null, prepares: 0, decisions: 0 };
      this.branches.set(txId, branch);
    }
    return branch;
  }

  prepare(request: PrepareRequest): Promise<PrepareResult> {
    const branch = this.branch(request.txId);
    branch.prepares += 1;
    if (branch.outcome !== null) return Promise.resolve({ decided: branch.outcome });
    const wanted = (request.work as ScriptedWork | null)?.vote ?? 'YES';
    if (wanted === 'SILENT') return new Promise(() => undefined);
    branch.vote = wanted;
    if (wanted === 'NO') return Promise.resolve({ vote: 'NO', reason: 'scripted NO' });
    return Promise.resolve({ vote: wanted });
  }

  commit(request: DecisionRequest): Promise<void> {
    return this.decide(request);
  }

  abort(request: DecisionRequest): Promise<void> {
    return this.decide(request);
  }

  private decide(request: DecisionRequest): Promise<void> {
    const branch = this.branch(request.txId);
    branch.decisions += 1;
    if (branch.outcome !== null && branch.outcome !== request.outcome) {
      return Promise.reject(
        new Error(
          `${request.txId} already ${branch.outcome}; refusing ${request.outcome}: atomicity violated`,
        ),
      );
    }
    if (request.outcome === 'COMMIT' && branch.vote !== 'YES') {
      return Promise.reject(new Error(`${request.txId}: COMMIT without a YES vote from this participant`));
    }
    branch.outcome = request.outcome;
    return Promise.resolve();
  }

  inDoubt(): Promise<readonly string[]> {
    return Promise.resolve(
      [...this.branches.entries()]
        .filter(([, branch]) => branch.vote === 'YES' && branch.outcome === null)
        .map(([txId]) => txId),
    );
  }
}

export interface ScriptedParticipant {
  readonly name: string;
  readonly service: ScriptedService;
  readonly handle: ParticipantHandle;
}

export async function startScriptedParticipant(
  name: string,
  brokers: readonly string[],
  coordinatorUrl?: string,
  apiKey?: string,
): Promise<ScriptedParticipant> {
  const service = new ScriptedService();
  const handle = await startParticipant({
    name,
    service,
    kafka: { brokers, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000, maxWaitTimeMs: 20 },
    ...(coordinatorUrl !== undefined && { coordinatorUrl }),
    ...(apiKey !== undefined && { apiKey }),
    recoveryIntervalMs: 1_000,
    inDoubtAfterMs: 2_000,
    outcomeQueryWaitMs: 1_000,
    logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  return { name, service, handle };
}
