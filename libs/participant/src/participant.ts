import {
  DEAD_LETTER_TOPIC,
  deadLetter,
  decodeCommand,
  encodeMessage,
  HEADER_MESSAGE_TYPE,
  HEADER_TRACEPARENT,
  chunkBySize,
  encodedMessageBytes,
  KafkaConsumerKeeper,
  OFFSET_COMMITS,
  keyedPartitioner,
  MESSAGE_BYTES_MAX,
  PRODUCE_REQUEST_BYTES_MAX,
  participantTopic,
  PROTOCOL_VERSION,
  REPLIES_TOPIC,
  TRACEPARENT_PATTERN,
  type OutcomeQuery,
  type ParticipantReply,
} from '@verdict/protocol';
import {
  CompressionTypes,
  Kafka,
  KafkaJSError,
  logLevel,
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  type KafkaMessage,
  type Message,
  type Producer,
} from 'kafkajs';
import { CommandHandler, describeError, type Handled } from './command-handler';
import { CoordinatorClient } from './coordinator-client';
import { jsonLineLogger, kafkaLogCreator } from './logger';
import { participantSettings, type ParticipantOptions, type ParticipantSettings } from './options';
import { ParticipantMemory } from './promises';
import type { ParticipantLogger, ParticipantService } from './service';
import { inCommandSpan, tracedLogger } from './tracing';

/**
 * Past a PREPARE's deadline the coordinator has decided, or has no record of the transaction and
 * answers ABORT: a YES still undecided by then, plus this much for the coordinator's tick, its
 * Raft round and clock skew, is in doubt.
 */
const PAST_DEADLINE_GRACE_MS = 1_000;

/**
 * After the first command of a new coordinator leader, how long the YES votes given to earlier
 * leaders wait before they are asked about: long enough for the new leader's re-sent PREPAREs and
 * decisions for what it resumed to arrive first.
 */
const NEW_LEADER_QUERY_DELAY_MS = 1_000;

/** Topic creation races with other processes creating the same topics; a few tries settle it. */
const TOPIC_CREATION_ATTEMPTS = 5;

/**
 * Every Kafka client of the SDK retries a failed request 8 times, backing off from 100 ms to at
 * most 5 s (about 20 s in all) before the error surfaces: long enough for a broker restart or a
 * leader election, short enough that a dead broker shows up in the logs.
 */
const KAFKA_RETRY = { retries: 8, initialRetryTime: 100, maxRetryTime: 5_000, factor: 0.2, multiplier: 2 };

/** How stale cluster metadata may get before it is refreshed (new partitions, moved leaders). */
const METADATA_MAX_AGE_MS = 60_000;

/** A commands consumer that kafkajs gave up on is rebuilt after 1 s, doubling per crash in a row, to 30 s. */
const CONSUMER_REBUILD_BACKOFF_MS_INITIAL = 1_000;
const CONSUMER_REBUILD_BACKOFF_MS_MAX = 30_000;

/** What `startParticipant` returns: the running participant, until `stop()`. */
export interface ParticipantHandle {
  readonly name: string;
  /** Stops consuming, lets commands in flight finish and closes the Kafka clients. */
  stop(): Promise<void>;
  /**
   * Whether commands are being read: false while the consumer is down after a crash (it is
   * rebuilt after a backoff). A participant's own readiness probe can report it.
   */
  consumerUp(): boolean;
  /** Commands consumers rebuilt after a crash kafkajs did not restart from. */
  consumerRebuilds(): number;
}

/**
 * Starts a participant: consumes `verdict.participant.<name>`, answers on
 * `verdict.coordinator.replies`, parks malformed messages on `verdict.dead-letter`, and asks
 * about in-doubt transactions at start and every `recoveryIntervalMs`.
 */
export async function startParticipant(options: ParticipantOptions): Promise<ParticipantHandle> {
  const participant = new Participant(options);
  await participant.start();
  return participant;
}

export class Participant implements ParticipantHandle {
  readonly name: string;
  private readonly settings: ParticipantSettings;
  private readonly service: ParticipantService;
  private readonly logger: ParticipantLogger;
  private readonly memory: ParticipantMemory;
  private readonly handler: CommandHandler;
  private readonly coordinator: CoordinatorClient | null;
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly consumer: KafkaConsumerKeeper<Consumer>;
  private readonly topic: string;
  /** OUTCOME_QUERY attempts per in-doubt txId; forgotten once the transaction is no longer in doubt. */
  private readonly queryAttempts = new Map<string, number>();
  private recoveryTimer: NodeJS.Timeout | null = null;
  /** When the scheduled recovery round runs (epoch ms); null while one runs. */
  private recoveryAtMs: number | null = null;
  /** The earliest round a YES asked for while one ran; the next one is scheduled no later. */
  private recoveryWantedAtMs = Number.POSITIVE_INFINITY;
  private recoveryRun: Promise<void> | null = null;
  /** The highest coordinator term seen in a command: the newest leader this process heard from. */
  private leaderTerm = 0;
  private readonly stopping = new AbortController();

  constructor(options: ParticipantOptions) {
    this.settings = participantSettings(options);
    this.name = this.settings.name;
    this.topic = participantTopic(this.name);
    this.service = options.service;
    this.logger = tracedLogger(options.logger ?? jsonLineLogger(this.name));
    this.memory = new ParticipantMemory(this.settings.memoryEntriesMax);
    this.handler = new CommandHandler({
      participant: this.name,
      service: this.service,
      memory: this.memory,
      logger: this.logger,
      prepareTimeoutMs: this.settings.prepareTimeoutMs,
      concurrencyMax: this.settings.handlerConcurrencyMax,
      now: Date.now,
    });
    this.coordinator =
      this.settings.coordinatorUrl === undefined
        ? null
        : new CoordinatorClient({
            coordinatorUrl: this.settings.coordinatorUrl,
            apiKey: this.settings.apiKey,
            requestTimeoutMs: this.settings.httpTimeoutMs,
          });
    const kafka = this.settings.kafka;
    this.kafka = new Kafka({
      clientId: kafka.clientId ?? `verdict-participant-${this.name}`,
      brokers: [...kafka.brokers],
      connectionTimeout: kafka.connectionTimeoutMs,
      requestTimeout: kafka.requestTimeoutMs,
      enforceRequestTimeout: true,
      retry: KAFKA_RETRY,
      logLevel: logLevel.WARN,
      logCreator: kafkaLogCreator(this.logger),
    });
    this.producer = this.kafka.producer({
      idempotent: true,
      // An idempotent producer keeps order with one request in flight; replies are small and batched.
      maxInFlightRequests: 1,
      // kafkajs wants unbounded retries for an idempotent producer; a bounded number instead lets a
      // failed batch fail, so the consumer re-reads its commands and answers them again (harmless:
      // every answer is idempotent).
      retry: KAFKA_RETRY,
      allowAutoTopicCreation: false,
      createPartitioner: keyedPartitioner,
      metadataMaxAge: METADATA_MAX_AGE_MS,
    });
    this.consumer = new KafkaConsumerKeeper<Consumer>({
      name: `commands consumer of participant ${this.name}`,
      build: () => this.buildConsumer(),
      run: (consumer) => this.runConsumer(consumer),
      backoffMsInitial: CONSUMER_REBUILD_BACKOFF_MS_INITIAL,
      backoffMsMax: CONSUMER_REBUILD_BACKOFF_MS_MAX,
      logError: (message) => this.logger.error(message),
    });
  }

  consumerUp(): boolean {
    return this.consumer.isUp();
  }

  consumerRebuilds(): number {
    return this.consumer.rebuilds();
  }

  private buildConsumer(): Consumer {
    const kafka = this.settings.kafka;
    return this.kafka.consumer({
      groupId: kafka.groupId ?? `verdict-participant-${this.name}`,
      sessionTimeout: kafka.sessionTimeoutMs,
      heartbeatInterval: kafka.heartbeatIntervalMs,
      rebalanceTimeout: kafka.rebalanceTimeoutMs,
      maxWaitTimeInMs: kafka.maxWaitTimeMs,
      minBytes: 1,
      // A command may be as large as the protocol allows; one always fits in a fetch.
      maxBytesPerPartition: 2 * MESSAGE_BYTES_MAX,
      maxBytes: 10 * MESSAGE_BYTES_MAX,
      metadataMaxAge: METADATA_MAX_AGE_MS,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      retry: KAFKA_RETRY,
    });
  }

  private async runConsumer(consumer: Consumer): Promise<void> {
    await consumer.connect();
    // From the beginning: a new participant must not skip commands already queued for it.
    await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: false,
      ...OFFSET_COMMITS,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  async start(): Promise<void> {
    const localhost = this.settings.kafka.brokers.filter((broker) => broker.startsWith('localhost:'));
    if (localhost.length > 0) {
      // Node may resolve localhost to ::1 while the broker listens on IPv4 only.
      this.logger.warn('a Kafka broker is named localhost; prefer 127.0.0.1', { brokers: localhost });
    }
    try {
      if (this.settings.kafka.ensureTopics) await this.ensureTopics();
      await this.producer.connect();
      await this.consumer.start();
    } catch (error) {
      // Leave no half-started client behind: the caller gets the error and nothing to stop.
      await Promise.allSettled([this.consumer.stop(), this.producer.disconnect()]);
      throw error;
    }
    this.logger.info('participant started', { topic: this.topic, brokers: this.settings.kafka.brokers });
    this.scheduleRecovery(0);
  }

  async stop(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort();
    if (this.recoveryTimer !== null) clearTimeout(this.recoveryTimer);
    await this.recoveryRun;
    await this.consumer.stop();
    await this.handler.idle();
    await this.producer.disconnect();
    this.logger.info('participant stopped', { topic: this.topic });
  }

  private async ensureTopics(): Promise<void> {
    const admin = this.kafka.admin({ retry: KAFKA_RETRY });
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = [this.topic, REPLIES_TOPIC, DEAD_LETTER_TOPIC].filter((topic) => !existing.has(topic));
      if (missing.length === 0) return;
      // -1: the broker's own num.partitions and default.replication.factor, which its operators chose.
      // Another process may be creating the same topics right now: the broker then answers
      // "does not host this topic-partition" for a moment, which kafkajs marks retriable.
      for (let attempt = 1; ; attempt += 1) {
        try {
          await admin.createTopics({
            topics: missing.map((topic) => ({ topic, numPartitions: -1, replicationFactor: -1 })),
            waitForLeaders: true,
            timeout: this.settings.kafka.requestTimeoutMs,
          });
          break;
        } catch (error) {
          if (attempt >= TOPIC_CREATION_ATTEMPTS || !(error instanceof KafkaJSError) || !error.retriable)
            throw error;
          await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
        }
      }
      this.logger.info('created topics', { topics: missing });
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * One consumer batch → one produce request carrying every reply and every parked message.
   * Offsets move only after that request succeeded: if it fails, the batch is read again and
   * answered again (the answers are idempotent).
   */
  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const handled = await Promise.all(
      batch.messages.map((message) => this.onMessage(batch.topic, batch.partition, message)),
    );
    const replies: Message[] = [];
    const parked: Message[] = [];
    for (const result of handled) {
      if (result.reply !== undefined) replies.push(result.reply);
      if (result.parked !== undefined) parked.push(result.parked);
    }
    const outgoing = [
      ...replies.map((message) => ({ topic: REPLIES_TOPIC, message })),
      ...parked.map((message) => ({ topic: DEAD_LETTER_TOPIC, message })),
    ];
    // A large batch's answers could outgrow the broker's message.max.bytes and fail on every
    // try: they leave in bounded requests, one after the other (order kept per partition).
    for (const chunk of chunkBySize(
      outgoing,
      ({ message }) => encodedMessageBytes(message),
      PRODUCE_REQUEST_BYTES_MAX,
    )) {
      const topics = new Map<string, Message[]>();
      for (const { topic, message } of chunk) topics.set(topic, [...(topics.get(topic) ?? []), message]);
      await this.producer.sendBatch({
        topicMessages: [...topics].map(([topic, messages]) => ({ topic, messages })),
        acks: -1,
        timeout: this.settings.kafka.sendTimeoutMs,
        compression: CompressionTypes.None,
      });
    }
    const last = batch.messages.at(-1);
    if (last !== undefined) payload.resolveOffset(last.offset);
    await payload.commitOffsetsIfNecessary();
    await payload.heartbeat();
  }

  private async onMessage(
    topic: string,
    partition: number,
    message: KafkaMessage,
  ): Promise<{ reply?: Message; parked?: Message }> {
    const decoded = decodeCommand(message.value);
    let reason: string | null = decoded.ok ? null : decoded.reason;
    if (decoded.ok && decoded.message.participant !== this.name) {
      reason = `command is addressed to participant "${decoded.message.participant}", not "${this.name}"`;
    }
    if (!decoded.ok || reason !== null) {
      this.logger.warn('parked a malformed command on the dead-letter topic', {
        topic,
        partition,
        offset: message.offset,
        reason,
      });
      return { parked: this.park(topic, partition, message, reason ?? 'undecodable') };
    }
    const command = decoded.message;
    if (command.term > this.leaderTerm) {
      // A new leader. A leader sends PREPARE for a transaction begun with commit before the
      // transaction is in its log, so a YES given to an earlier leader may be for one that died
      // with it: ask soon, not a second after its deadline. What the new leader resumed it answers
      // as usual (UNDECIDED, or its decision).
      if (this.leaderTerm > 0) this.recoverBy(Date.now() + NEW_LEADER_QUERY_DELAY_MS);
      this.leaderTerm = command.term;
    }
    const { handled: result, traceparent } = await inCommandSpan(
      this.name,
      command,
      traceparentOf(message.headers),
      async (): Promise<Handled> => {
        const handled = await this.handler.handle(command);
        if (
          command.type === 'PREPARE' &&
          handled.kind === 'reply' &&
          handled.reply.type === 'VOTE' &&
          handled.reply.payload.vote === 'YES'
        ) {
          this.recoverBy(Date.parse(command.payload.deadline) + PAST_DEADLINE_GRACE_MS);
        }
        if (handled.kind === 'reply') {
          this.logger.debug(`answered ${command.type}`, {
            txId: command.txId,
            term: command.term,
            reply: handled.reply,
          });
        }
        return handled;
      },
    );
    if (result.kind === 'silent') return {};
    if (result.kind === 'reject') return { parked: this.park(topic, partition, message, result.reason) };
    return { reply: this.replyMessage(result.reply, traceparent) };
  }

  private park(topic: string, partition: number, message: KafkaMessage, reason: string): Message {
    const letter = deadLetter(
      { topic, partition, offset: message.offset, key: message.key, value: message.value },
      reason,
      `participant ${this.name}`,
    );
    // The letter's own key is the parked key as far as the letter keeps it: a huge key stays behind.
    return { key: letter.key, value: JSON.stringify(letter) };
  }

  private replyMessage(reply: ParticipantReply, traceparent: string | null): Message {
    const headers: IHeaders = { [HEADER_MESSAGE_TYPE]: reply.type };
    if (traceparent !== null) headers[HEADER_TRACEPARENT] = traceparent;
    return { key: reply.txId, value: encodeMessage(reply), headers };
  }

  private scheduleRecovery(delayMs: number): void {
    if (this.stopping.signal.aborted) return;
    this.recoveryAtMs = Date.now() + delayMs;
    this.recoveryTimer = setTimeout(() => {
      this.recoveryAtMs = null;
      this.recoveryRun = this.recoverInDoubt()
        .catch((error: unknown) => {
          this.logger.error('recovery round failed; will retry', { error: describeError(error) });
        })
        .finally(() => {
          this.recoveryRun = null;
          const wantedInMs = this.recoveryWantedAtMs - Date.now();
          this.recoveryWantedAtMs = Number.POSITIVE_INFINITY;
          this.scheduleRecovery(Math.max(0, Math.min(this.settings.recoveryIntervalMs, wantedInMs)));
        });
    }, delayMs);
  }

  /**
   * A recovery round no later than `atMs`. A YES on a PREPARE whose BEGIN was lost with its
   * coordinator leader (it sends PREPARE before that entry commits) is never decided: only asking
   * ends it, so it is asked about once its deadline passed, not a whole recovery interval later.
   */
  private recoverBy(atMs: number): void {
    if (!Number.isFinite(atMs) || this.stopping.signal.aborted) return;
    if (this.recoveryAtMs === null) {
      this.recoveryWantedAtMs = Math.min(this.recoveryWantedAtMs, atMs);
      return;
    }
    if (atMs >= this.recoveryAtMs) return;
    if (this.recoveryTimer !== null) clearTimeout(this.recoveryTimer);
    this.scheduleRecovery(Math.max(0, atMs - Date.now()));
  }

  /**
   * Asks the coordinator about every transaction the service holds prepared without a decision:
   * an OUTCOME_QUERY on Kafka first (the coordinator answers with COMMIT/ABORT on this
   * participant's topic, handled like any command), then, for those still in doubt after
   * `outcomeQueryWaitMs`, the REST outcome. No answer means undecided: keep waiting, never decide.
   */
  private async recoverInDoubt(): Promise<void> {
    const inDoubt = await this.service.inDoubt();
    const nowMs = Date.now();
    const asking = inDoubt.filter((txId) => {
      const memory = this.memory.get(txId);
      // A vote this process gave a moment ago is not in doubt yet: its decision is on its way,
      // unless its deadline passed.
      if (memory?.votedAtMs == null) return true;
      const pastDeadline = memory.deadlineMs !== null && nowMs >= memory.deadlineMs + PAST_DEADLINE_GRACE_MS;
      const olderLeader = memory.termSeen < this.leaderTerm;
      return pastDeadline || olderLeader || nowMs - memory.votedAtMs >= this.settings.inDoubtAfterMs;
    });
    for (const txId of this.queryAttempts.keys()) {
      if (!inDoubt.includes(txId)) this.queryAttempts.delete(txId);
    }
    if (asking.length === 0) return;
    this.logger.info('asking the coordinator about in-doubt transactions', { txIds: asking });
    await this.producer.send({
      topic: REPLIES_TOPIC,
      messages: asking.map((txId) => this.replyMessage(this.outcomeQuery(txId), null)),
      acks: -1,
      timeout: this.settings.kafka.sendTimeoutMs,
      compression: CompressionTypes.None,
    });
    if (this.coordinator === null) return;
    if (!(await this.sleep(this.settings.outcomeQueryWaitMs))) return;
    const stillInDoubt = new Set(await this.service.inDoubt());
    for (const txId of asking) {
      if (!stillInDoubt.has(txId) || this.stopping.signal.aborted) continue;
      let outcome;
      try {
        outcome = await this.coordinator.outcome(txId);
      } catch (error) {
        this.logger.warn('could not ask the coordinator over REST; still in doubt', {
          txId,
          error: describeError(error),
        });
        continue;
      }
      if (outcome === null) {
        this.logger.info('coordinator has no decision yet; still in doubt', { txId });
        continue;
      }
      if (await this.handler.applyOutcome(txId, outcome)) {
        this.logger.info('applied the recorded outcome of an in-doubt transaction', { txId, outcome });
      }
    }
  }

  private outcomeQuery(txId: string): OutcomeQuery {
    const attempt = (this.queryAttempts.get(txId) ?? 0) + 1;
    this.queryAttempts.set(txId, attempt);
    return {
      v: PROTOCOL_VERSION,
      type: 'OUTCOME_QUERY',
      txId,
      participant: this.name,
      // Unprompted: it answers no command, so it carries no leader's term.
      term: 0,
      attempt,
      sentAt: new Date().toISOString(),
      payload: {},
    };
  }

  /** Waits `ms`; false when the participant began stopping meanwhile. */
  private sleep(ms: number): Promise<boolean> {
    const signal = this.stopping.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * The command's trace context, when it is a valid one. Kafka lets a header value be null, bytes or
 * repeated; anything but one well-formed traceparent is ignored (as W3C Trace Context says), since a
 * broken trace header must neither stall the command nor travel on in the reply.
 */
export function traceparentOf(headers: IHeaders | undefined): string | null {
  const value: unknown = headers?.[HEADER_TRACEPARENT];
  const first: unknown = Array.isArray(value) ? value[0] : value;
  if (typeof first !== 'string' && !Buffer.isBuffer(first)) return null;
  const text = first.toString();
  return TRACEPARENT_PATTERN.test(text) ? text : null;
}
