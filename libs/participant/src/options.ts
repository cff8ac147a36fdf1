import { isParticipantName, PARTICIPANT_NAME_RULE } from '@verdict/protocol';
import { z } from 'zod';
import { MEMORY_ENTRIES_MAX_DEFAULT } from './promises';
import type { ParticipantLogger, ParticipantService } from './service';

/**
 * Kafka client settings. Every timeout the SDK relies on is set here explicitly rather than
 * left to kafkajs defaults; the defaults suit a participant on a healthy cluster.
 */
export interface ParticipantKafkaOptions {
  /** `host:port` list; use `127.0.0.1` rather than `localhost` (Node may resolve it to ::1). */
  readonly brokers: readonly string[];
  readonly clientId?: string;
  /** Defaults to `verdict-participant-<name>`: instances of one participant share the work. */
  readonly groupId?: string;
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly rebalanceTimeoutMs?: number;
  /**
   * How long an idle fetch waits. It adds no latency (the broker answers a waiting fetch as soon as
   * a command is appended); it is how often an idle participant asks, and each ask costs the broker.
   */
  readonly maxWaitTimeMs?: number;
  /** How long one produce request may take at the broker (acks from all in-sync replicas). */
  readonly sendTimeoutMs?: number;
  /** Create the participant, replies and dead-letter topics when missing (off where ops own topics). */
  readonly ensureTopics?: boolean;
}

export interface ParticipantOptions {
  /** The participant's name: its topic is `verdict.participant.<name>`. */
  readonly name: string;
  readonly service: ParticipantService;
  readonly kafka: ParticipantKafkaOptions;
  /** Base URL of the coordinator's REST API, for the outcome fallback and enlisting. */
  readonly coordinatorUrl?: string;
  readonly apiKey?: string;
  /** The longest a `prepare` may take; the PREPARE's own deadline shortens it further. */
  readonly prepareTimeoutMs?: number;
  /** How often in-doubt transactions are asked about (also once at start). */
  readonly recoveryIntervalMs?: number;
  /** After an OUTCOME_QUERY, how long to wait for the coordinator's COMMIT/ABORT before asking over REST. */
  readonly outcomeQueryWaitMs?: number;
  /** A transaction this process voted YES on is in doubt only after this long without a decision. */
  readonly inDoubtAfterMs?: number;
  /** Commands handled at once (each may hold a database connection). */
  readonly handlerConcurrencyMax?: number;
  readonly memoryEntriesMax?: number;
  readonly httpTimeoutMs?: number;
  readonly logger?: ParticipantLogger;
}

const positiveMs = (max: number) => z.int().positive().max(max);

const KafkaSettingsSchema = z.strictObject({
  brokers: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'host:port')).min(1),
  clientId: z.string().min(1).optional(),
  groupId: z.string().min(1).optional(),
  connectionTimeoutMs: positiveMs(60_000).default(3_000),
  requestTimeoutMs: positiveMs(120_000).default(30_000),
  sessionTimeoutMs: z.int().min(6_000).max(300_000).default(10_000),
  heartbeatIntervalMs: positiveMs(60_000).default(1_000),
  rebalanceTimeoutMs: positiveMs(300_000).default(30_000),
  maxWaitTimeMs: positiveMs(10_000).default(500),
  sendTimeoutMs: positiveMs(120_000).default(30_000),
  ensureTopics: z.boolean().default(true),
});

const SettingsSchema = z.strictObject({
  name: z.string().refine(isParticipantName, `participant name: ${PARTICIPANT_NAME_RULE}`),
  kafka: KafkaSettingsSchema,
  coordinatorUrl: z.url({ protocol: /^https?$/ }).optional(),
  apiKey: z.string().min(1).optional(),
  prepareTimeoutMs: positiveMs(600_000).default(5_000),
  recoveryIntervalMs: positiveMs(3_600_000).default(30_000),
  outcomeQueryWaitMs: positiveMs(600_000).default(2_000),
  inDoubtAfterMs: positiveMs(3_600_000).default(30_000),
  handlerConcurrencyMax: z.int().min(1).max(1024).default(16),
  memoryEntriesMax: z.int().min(1).max(10_000_000).default(MEMORY_ENTRIES_MAX_DEFAULT),
  httpTimeoutMs: positiveMs(120_000).default(3_000),
});

export type ParticipantSettings = z.infer<typeof SettingsSchema>;

/** Checks every option at start, naming the field and the rule it broke. */
export function participantSettings(options: ParticipantOptions): ParticipantSettings {
  const { service: _service, logger: _logger, ...plain } = options;
  const parsed = SettingsSchema.safeParse(plain);
  if (!parsed.success) {
    throw new Error(`invalid participant options: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
  }
  const settings = parsed.data;
  if (settings.kafka.heartbeatIntervalMs * 3 > settings.kafka.sessionTimeoutMs) {
    throw new Error(
      `invalid participant options: kafka.heartbeatIntervalMs (${settings.kafka.heartbeatIntervalMs}) must be at most a third of kafka.sessionTimeoutMs (${settings.kafka.sessionTimeoutMs})`,
    );
  }
  return settings;
}
