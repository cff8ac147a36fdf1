/**
 * What `/health/ready` asks the cluster host. A node is ready when it knows a leader (it can
 * serve or forward) and has caught up applying the log (its reads are not stale).
 */
export interface ReadinessPort {
  readiness(): Promise<ReadinessView>;
}

export interface ReadinessView {
  readonly leaderId: string | null;
  /**
   * The host's call, so that readiness does not flap under load: e.g. it applied everything
   * that was committed when it started, and has not fallen behind by more than a snapshot since.
   */
  readonly caughtUp: boolean;
  readonly commitIndex: number;
  readonly appliedIndex: number;
}

/** Nest injection token for the `ReadinessPort` implementation. */
export const READINESS = Symbol('verdict:ReadinessPort');
