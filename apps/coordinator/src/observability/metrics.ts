import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Outcome } from '@verdict/protocol';
import type { BreakerState } from '../api/coordinator.port';

/** Phases of one transaction, timed by the coordinator (seconds). */
export type TxPhase = 'prepare' | 'decide' | 'commit_total';

const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 };

/** Latencies from a single Raft round trip on a LAN to a prepare that hits its deadline. */
const PHASE_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
const HTTP_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Every metric the coordinator exports, on a registry of its own (not prom-client's global one,
 * so two nodes in one test process do not collide). The cluster host and the transport call
 * the methods; `/metrics` renders the registry. Names follow Prometheus conventions: base
 * units (seconds), `_total` for counters.
 */
export class CoordinatorMetrics {
  readonly registry = new Registry();

  private readonly transactions = new Counter({
    name: 'verdict_transactions_total',
    help: 'Transactions decided, by outcome.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly phaseDuration = new Histogram({
    name: 'verdict_transaction_phase_duration_seconds',
    help: 'Time spent per 2PC phase: prepare (PREPARE sent → last vote), decide (decision proposed → durable), commit_total (begin → every ACK).',
    labelNames: ['phase'] as const,
    buckets: PHASE_BUCKETS_SECONDS,
    registers: [this.registry],
  });

  private readonly inDoubt = new Gauge({
    name: 'verdict_in_doubt_transactions',
    help: 'Transactions prepared or decided whose participants have not all acknowledged.',
    registers: [this.registry],
  });

  private readonly oldestInDoubtAge = new Gauge({
    name: 'verdict_oldest_in_doubt_age_seconds',
    help: 'Age of the oldest in-doubt transaction; 0 when there is none.',
    registers: [this.registry],
  });

  private readonly raftTerm = new Gauge({
    name: 'verdict_raft_term',
    help: "This node's current Raft term.",
    registers: [this.registry],
  });

  private readonly raftCommitIndex = new Gauge({
    name: 'verdict_raft_commit_index',
    help: 'Highest Raft log index known committed.',
    registers: [this.registry],
  });

  private readonly raftAppliedIndex = new Gauge({
    name: 'verdict_raft_applied_index',
    help: 'Highest Raft log index applied to the 2PC state machine.',
    registers: [this.registry],
  });

  /** The log store's own running count of durable writes, read at each scrape. */
  private raftLogSyncsSource: (() => number) | null = null;

  private readonly raftLogSyncs = new Counter({
    name: 'verdict_raft_log_syncs_total',
    help: 'Writes that made Raft log data durable on this node (an O_DSYNC append or an fdatasync): how many entries share one.',
    registers: [this.registry],
    collect: () => {
      if (this.raftLogSyncsSource === null) return;
      // The store's count only grows: the counter takes its value rather than keeping its own.
      this.raftLogSyncs.reset();
      this.raftLogSyncs.inc(this.raftLogSyncsSource());
    },
  });

  private readonly raftIsLeader = new Gauge({
    name: 'verdict_raft_is_leader',
    help: '1 when this node is the Raft leader.',
    registers: [this.registry],
  });

  private readonly breakerState = new Gauge({
    name: 'verdict_participant_breaker_state',
    help: 'Circuit breaker per participant: 0 closed, 1 half-open, 2 open.',
    labelNames: ['participant'] as const,
    registers: [this.registry],
  });

  private readonly httpDuration = new Histogram({
    name: 'verdict_http_request_duration_seconds',
    help: 'HTTP requests served, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: HTTP_BUCKETS_SECONDS,
    registers: [this.registry],
  });

  private readonly kafkaConsumerRebuilds = new Counter({
    name: 'verdict_kafka_consumer_rebuilds_total',
    help: 'Kafka consumers rebuilt after a crash kafkajs would not restart from (e.g. an undecodable batch).',
    labelNames: ['consumer'] as const,
    registers: [this.registry],
  });

  private readonly kafkaProduceRequests = new Counter({
    name: 'verdict_kafka_produce_requests_total',
    help: 'Produce requests this node sent to Kafka: how well commands of many transactions share a request.',
    registers: [this.registry],
  });

  private readonly kafkaConsumerUp = new Gauge({
    name: 'verdict_kafka_consumer_up',
    help: '1 while the Kafka consumer is in its group and reading; 0 while it is down.',
    labelNames: ['consumer'] as const,
    registers: [this.registry],
  });

  /** Consumers that are down; `/health/ready` fails while any is. */
  private readonly consumersDown = new Set<string>();

  constructor(options: { readonly nodeId: string; readonly processMetrics: boolean }) {
    this.registry.setDefaultLabels({ node_id: options.nodeId });
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Called once per decision, when the DECISION entry is applied on the leader. */
  recordDecision(outcome: Outcome): void {
    this.transactions.inc({ outcome: outcome.toLowerCase() });
  }

  observePhase(phase: TxPhase, durationSeconds: number): void {
    this.phaseDuration.observe({ phase }, durationSeconds);
  }

  setInDoubt(count: number, oldestAgeSeconds: number): void {
    this.inDoubt.set(count);
    this.oldestInDoubtAge.set(oldestAgeSeconds);
  }

  recordKafkaProduceRequest(): void {
    this.kafkaProduceRequests.inc();
  }

  setRaft(state: {
    readonly term: number;
    readonly commitIndex: number;
    readonly appliedIndex: number;
    readonly isLeader: boolean;
  }): void {
    this.raftTerm.set(state.term);
    this.raftCommitIndex.set(state.commitIndex);
    this.raftAppliedIndex.set(state.appliedIndex);
    this.raftIsLeader.set(state.isLeader ? 1 : 0);
  }

  /** Where verdict_raft_log_syncs_total comes from: the log store's count, which only grows. */
  countRaftLogSyncs(read: () => number): void {
    this.raftLogSyncsSource = read;
  }

  setBreaker(participant: string, state: BreakerState): void {
    this.breakerState.set({ participant }, BREAKER_STATE_VALUE[state]);
  }

  /** `route` is the route pattern (`/v1/transactions/:txId`), never the raw URL: bounded labels. */
  observeHttp(method: string, route: string, statusCode: number, durationSeconds: number): void {
    this.httpDuration.observe({ method, route, status_code: String(statusCode) }, durationSeconds);
  }

  recordKafkaConsumerRebuild(consumer: string): void {
    this.kafkaConsumerRebuilds.inc({ consumer });
  }

  setKafkaConsumerUp(consumer: string, up: boolean): void {
    this.kafkaConsumerUp.set({ consumer }, up ? 1 : 0);
    if (up) this.consumersDown.delete(consumer);
    else this.consumersDown.add(consumer);
  }

  /** Consumers last seen down (crashed, not yet back in their group). */
  kafkaConsumersDown(): readonly string[] {
    return [...this.consumersDown];
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
