import type { BreakerOptions } from './participant-breakers';

export interface TransportOptions {
  /** This coordinator node; its replies consumer group is `verdict-coordinator-<nodeId>`. */
  readonly nodeId: string;
  /** `host:port` list; use 127.0.0.1 rather than localhost (Node may pick ::1). */
  readonly brokers: readonly string[];
  readonly connectionTimeoutMs: number;
  /** Per request to a broker (metadata, produce, fetch). */
  readonly requestTimeoutMs: number;
  /** How long the broker may wait for in-sync replicas before failing a produce. */
  readonly produceTimeoutMs: number;
  /** kafkajs retries for a failed request, then `send` rejects and the engine re-sends later. */
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly retryDelayMsMax: number;
  /** Messages waiting for the next produce request, at most; beyond it `send` rejects at once. */
  readonly sendQueueMessagesMax: number;
  /** One produce request carries at most about this many bytes of message values. */
  readonly sendBatchBytesMax: number;
  /**
   * How long COMMITs and ABORTs with no PREPARE beside them may wait for the next PREPAREs, to
   * leave in one produce request with them (0: at once). A commit answered at the decision does
   * not wait for them; one that waits for completion may wait this much longer.
   */
  readonly decisionLingerMs: number;
  readonly consumer: {
    readonly sessionTimeoutMs: number;
    readonly heartbeatIntervalMs: number;
    readonly rebalanceTimeoutMs: number;
    /** The broker answers a fetch after this long even with no data: the latency floor for replies. */
    readonly maxWaitTimeMs: number;
    /**
     * While this node follows, it reads replies in bulk: once caught up it pauses for this long.
     * Only the leader acts on replies; a follower keeps who was last seen and its breakers from
     * them, so they run this late there, and a new leader starts at most this far behind.
     */
    readonly followerReadIntervalMs: number;
    /**
     * Where a consumer group with no committed offset starts. Production: false (a new node has
     * no use for old replies); tests on fresh topics: true.
     */
    readonly fromBeginning: boolean;
  };
  readonly topics: {
    readonly numPartitions: number;
    readonly replicationFactor: number;
  };
  readonly breakers: BreakerOptions;
}

const NODE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** A decision held longer keeps a participant's locks longer: a linger is a few milliseconds. */
export const DECISION_LINGER_MS_MAX = 1_000;

export function validateTransportOptions(options: TransportOptions): void {
  const integer = (name: string, value: number, min: number, max: number): void => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`transport option ${name} is ${value}; use an integer from ${min} to ${max}`);
    }
  };
  if (!NODE_ID_PATTERN.test(options.nodeId)) {
    throw new RangeError(
      `transport option nodeId is "${options.nodeId}"; use lowercase letters, digits and dashes (it names a consumer group)`,
    );
  }
  if (options.brokers.length === 0 || options.brokers.some((broker) => !/^[^:\s]+:\d{1,5}$/.test(broker))) {
    throw new RangeError(
      `transport option brokers is ${JSON.stringify(options.brokers)}; use a non-empty list of host:port`,
    );
  }
  integer('connectionTimeoutMs', options.connectionTimeoutMs, 1, 600_000);
  integer('requestTimeoutMs', options.requestTimeoutMs, 1, 600_000);
  integer('produceTimeoutMs', options.produceTimeoutMs, 1, 600_000);
  integer('decisionLingerMs', options.decisionLingerMs, 0, DECISION_LINGER_MS_MAX);
  integer('retries', options.retries, 1, 100);
  integer('retryDelayMs', options.retryDelayMs, 1, 600_000);
  integer('retryDelayMsMax', options.retryDelayMsMax, options.retryDelayMs, 600_000);
  integer('sendQueueMessagesMax', options.sendQueueMessagesMax, 1, 10_000_000);
  integer('sendBatchBytesMax', options.sendBatchBytesMax, 1_024, 64 * 1024 * 1024);
  integer('consumer.sessionTimeoutMs', options.consumer.sessionTimeoutMs, 1_000, 3_600_000);
  integer(
    'consumer.heartbeatIntervalMs',
    options.consumer.heartbeatIntervalMs,
    1,
    options.consumer.sessionTimeoutMs / 3,
  );
  integer('consumer.rebalanceTimeoutMs', options.consumer.rebalanceTimeoutMs, 1_000, 3_600_000);
  integer('consumer.maxWaitTimeMs', options.consumer.maxWaitTimeMs, 0, 60_000);
  integer('consumer.followerReadIntervalMs', options.consumer.followerReadIntervalMs, 0, 60_000);
  integer('topics.numPartitions', options.topics.numPartitions, 1, 10_000);
  integer('topics.replicationFactor', options.topics.replicationFactor, 1, 100);
}
