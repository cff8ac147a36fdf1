import { Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  CompressionTypes,
  Kafka,
  KafkaJSError,
  logLevel,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type logCreator,
  type Message,
  type Producer,
  type RetryOptions,
  type TopicMessages,
} from 'kafkajs';
import {
  DEAD_LETTER_TOPIC,
  deadLetter,
  decodeReply,
  encodeMessage,
  HEADER_MESSAGE_TYPE,
  HEADER_TRACEPARENT,
  KafkaConsumerKeeper,
  OFFSET_COMMITS,
  participantTopic,
  pooledRandomBytes,
  chunkBySize,
  encodedMessageBytes,
  PRODUCE_REQUEST_BYTES_MAX,
  REPLIES_TOPIC,
  keyedPartitioner,
  type DeadLetter,
  type ParticipantReply,
} from '@verdict/protocol';
import {
  TransportBackpressureError,
  type OutboundCommand,
  type ParticipantChannel,
} from './participant-channel';
import type { ParticipantBreakers } from './participant-breakers';
import { validateTransportOptions, type TransportOptions } from './transport-options';

/** Topic creation races with other processes creating the same topics; a few tries settle it. */
const TOPIC_CREATION_ATTEMPTS = 5;

interface QueuedSend {
  readonly messages: readonly TopicMessage[];
  /** Participants whose breakers learn of a failure; empty for dead letters. */
  readonly participants: readonly string[];
  readonly bytes: number;
  /** It holds a PREPARE: whatever waits leaves with it, at once. */
  readonly urgent: boolean;
  readonly queuedAtMs: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** Hooks for the coordinator's metrics and readiness; all optional. */
export interface TransportObserver {
  /** The replies consumer was rebuilt after a crash kafkajs would not restart from. */
  onRepliesConsumerRebuilt?(): void;
  /** The replies consumer joined its group (true) or crashed (false). */
  onRepliesConsumerState?(up: boolean): void;
  /** One produce request went to a broker (commands, however many, or parked messages). */
  onProduceRequest?(): void;
}

/** A crashed replies consumer is rebuilt after 1 s, doubling per crash in a row, to 30 s. */
const CONSUMER_REBUILD_BACKOFF_MS_INITIAL = 1_000;
const CONSUMER_REBUILD_BACKOFF_MS_MAX = 30_000;

/** Counters since start, for metrics; all monotonic except `queuedMessages` and `repliesConsumerUp`. */
export interface TransportMetrics {
  /** Produce requests sent to brokers (one per broker per drained batch). */
  readonly produceRequests: number;
  readonly commandsSent: number;
  readonly sendFailures: number;
  readonly repliesDelivered: number;
  readonly replyBatches: number;
  readonly messagesParked: number;
  readonly queuedMessages: number;
  /** Replies consumers rebuilt after a crash kafkajs did not restart from. */
  readonly repliesConsumerRebuilds: number;
  readonly repliesConsumerUp: boolean;
}

interface TopicMessage {
  readonly topic: string;
  readonly message: Message;
}

/**
 * The {@link ParticipantChannel} on Kafka (kafkajs).
 *
 * Sends go through one queue drained by one loop, one produce request at a time: calls made
 * while a request is under way leave together in the next one. That is the batching that the
 * design measures at ~12× one-send-per-message, and it keeps a single request in flight, which
 * kafkajs's idempotent producer needs (concurrent sends on it can be rejected as out of order
 * or silently lost: tulios/kafkajs#598, #1005).
 */
export class KafkaParticipantChannel implements ParticipantChannel, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(KafkaParticipantChannel.name);
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private consumer: KafkaConsumerKeeper<Consumer> | null = null;
  private started: Promise<void> | null = null;
  private closed = false;

  private leading = true;
  /** Resumes the replies partitions this follower paused once caught up; see setLeading. */
  private readonly pausedReplies: (() => void)[] = [];
  private followerReadTimer: NodeJS.Timeout | null = null;

  private readonly queue: QueuedSend[] = [];
  /** Invariant: the sum of `messages.length` over `queue`. */
  private queuedMessages = 0;
  private draining: Promise<void> | null = null;
  /** Ends the drain loop's linger early: a PREPARE was queued, or the channel is closing. */
  private endLinger: (() => void) | null = null;

  private readonly counters = {
    produceRequests: 0,
    commandsSent: 0,
    sendFailures: 0,
    repliesDelivered: 0,
    replyBatches: 0,
    messagesParked: 0,
  };

  /** Topics known to exist; creation is asked for at most once per topic at a time. */
  private readonly topics = new Map<string, Promise<void>>();

  constructor(
    private readonly options: TransportOptions,
    private readonly breakers: ParticipantBreakers,
    private readonly observer: TransportObserver = {},
  ) {
    validateTransportOptions(options);
    const retry: RetryOptions = {
      retries: options.retries,
      initialRetryTime: options.retryDelayMs,
      maxRetryTime: options.retryDelayMsMax,
      factor: 0.2,
      multiplier: 2,
    };
    this.kafka = new Kafka({
      clientId: this.groupId(),
      brokers: [...options.brokers],
      connectionTimeout: options.connectionTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      enforceRequestTimeout: true,
      retry,
      logLevel: logLevel.WARN,
      logCreator: nestLogCreator(new Logger('kafkajs')),
    });
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // Topics are created on purpose (ensureTopics), never by a typo in a participant name.
      allowAutoTopicCreation: false,
      createPartitioner: keyedPartitioner,
      // Bounded on purpose, although kafkajs warns that the idempotent producer "may" then
      // duplicate: a send must fail in bounded time so that breakers and the engine's re-send
      // schedule take over, and participants treat duplicates as harmless.
      retry,
    });
    this.admin = this.kafka.admin({ retry });
    this.producer.on(this.producer.events.REQUEST, (event) => {
      if (event.payload.apiName !== 'Produce') return;
      this.counters.produceRequests += 1;
      this.observer.onProduceRequest?.();
    });
  }

  metrics(): TransportMetrics {
    return {
      ...this.counters,
      queuedMessages: this.queuedMessages,
      repliesConsumerRebuilds: this.consumer?.rebuilds() ?? 0,
      repliesConsumerUp: this.consumer?.isUp() ?? false,
    };
  }

  /** Whether replies are being read: false before `onReplies` and while the consumer is down. */
  repliesConsumerUp(): boolean {
    return this.consumer?.isUp() ?? false;
  }

  onModuleInit(): Promise<void> {
    return this.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.close();
  }

  /** Connects and creates the replies and dead-letter topics. Idempotent. */
  start(): Promise<void> {
    this.started ??= (async () => {
      await Promise.all([this.producer.connect(), this.admin.connect()]);
      await this.createTopics([REPLIES_TOPIC, DEAD_LETTER_TOPIC]);
    })().catch((error: unknown) => {
      this.started = null; // let the next call try again
      throw error;
    });
    return this.started;
  }

  // Breakers are not consulted here: they gate enlistment (admit), while COMMIT and ABORT must
  // keep going to a participant whatever its circuit says until it acknowledges the decision.
  send(commands: readonly OutboundCommand[]): Promise<void> {
    if (commands.length === 0) return Promise.resolve();
    const messages = commands.map((command): TopicMessage => {
      // A mismatch is a bug in the caller: the participant would act on another's command.
      if (command.message.participant !== command.participant) {
        throw new Error(
          `command ${command.message.type} for transaction ${command.message.txId} names participant ` +
            `${command.message.participant} but is addressed to ${command.participant}`,
        );
      }
      return {
        topic: participantTopic(command.participant),
        message: {
          key: command.message.txId,
          value: encodeMessage(command.message),
          headers: {
            [HEADER_MESSAGE_TYPE]: command.message.type,
            [HEADER_TRACEPARENT]: command.traceparent ?? newTraceparent(),
          },
        },
      };
    });
    return this.enqueue(
      messages,
      [...new Set(commands.map((command) => command.participant))],
      commands.some((command) => command.message.type === 'PREPARE'),
    );
  }

  setLeading(leading: boolean): void {
    this.leading = leading;
    if (leading) this.resumeReplies();
  }

  async onReplies(handler: (replies: readonly ParticipantReply[]) => void): Promise<void> {
    if (this.consumer !== null) throw new Error('onReplies: a replies handler is already registered');
    await this.start();
    const { consumer: options } = this.options;
    const keeper = new KafkaConsumerKeeper<Consumer>({
      name: `replies consumer of coordinator ${this.options.nodeId}`,
      build: () => {
        // Pauses belong to the consumer that made them; a rebuilt one starts reading.
        this.resumeReplies();
        return this.kafka.consumer({
          groupId: this.groupId(),
          sessionTimeout: options.sessionTimeoutMs,
          heartbeatInterval: options.heartbeatIntervalMs,
          rebalanceTimeout: options.rebalanceTimeoutMs,
          maxWaitTimeInMs: options.maxWaitTimeMs,
          minBytes: 1,
          maxBytes: 10 * 1024 * 1024,
          maxBytesPerPartition: 1024 * 1024,
          allowAutoTopicCreation: false,
          retry: {
            retries: this.options.retries,
            initialRetryTime: this.options.retryDelayMs,
            maxRetryTime: this.options.retryDelayMsMax,
            // After the retries, restart the consumer rather than leave this node deaf to votes.
            // kafkajs asks this only for retriable errors: the keeper covers the others.
            restartOnFailure: () => Promise.resolve(true),
          },
        });
      },
      run: async (consumer) => {
        consumer.on(consumer.events.CRASH, (event) => {
          this.logger.error(
            `replies consumer crashed (restart: ${String(event.payload.restart)}): ${event.payload.error.message}`,
          );
        });
        const joined = new Promise<void>((resolve) => {
          const remove = consumer.on(consumer.events.GROUP_JOIN, () => {
            remove();
            resolve();
          });
        });
        await consumer.connect();
        await consumer.subscribe({ topics: [REPLIES_TOPIC], fromBeginning: options.fromBeginning });
        await consumer.run({
          ...OFFSET_COMMITS,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: 1,
          eachBatch: (payload) => this.onReplyBatch(payload, handler),
        });
        await joined;
      },
      backoffMsInitial: CONSUMER_REBUILD_BACKOFF_MS_INITIAL,
      backoffMsMax: CONSUMER_REBUILD_BACKOFF_MS_MAX,
      logError: (message) => this.logger.error(message),
      onRebuild: () => this.observer.onRepliesConsumerRebuilt?.(),
      onState: (up) => this.observer.onRepliesConsumerState?.(up),
    });
    this.consumer = keeper;
    await keeper.start();
  }

  async ensureTopics(participants: readonly string[]): Promise<void> {
    await this.start();
    await this.createTopics(participants.map(participantTopic));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const refused = this.queue.splice(0);
    this.queuedMessages = 0;
    for (const send of refused) send.reject(new Error('transport is closing; the command was not sent'));
    this.endLinger?.();
    await this.draining;
    this.resumeReplies();
    await this.consumer?.stop();
    await Promise.all([this.producer.disconnect(), this.admin.disconnect()]);
  }

  private groupId(): string {
    return `verdict-coordinator-${this.options.nodeId}`;
  }

  private enqueue(
    messages: readonly TopicMessage[],
    participants: readonly string[],
    urgent: boolean,
  ): Promise<void> {
    if (this.closed) return Promise.reject(new Error('transport is closed; the command was not sent'));
    if (this.queuedMessages + messages.length > this.options.sendQueueMessagesMax) {
      return Promise.reject(
        new TransportBackpressureError(
          `${this.queuedMessages} messages are already waiting for Kafka (limit ${this.options.sendQueueMessagesMax}); the broker is slow or unreachable`,
        ),
      );
    }
    // One turn's commands can outgrow the broker's message.max.bytes on one partition and then
    // fail on every try: cut them into queued sends of bounded size, which leave in order.
    const chunks = chunkBySize(
      messages,
      ({ message }) => encodedMessageBytes(message),
      Math.min(PRODUCE_REQUEST_BYTES_MAX, this.options.sendBatchBytesMax),
    );
    this.queuedMessages += messages.length;
    const queuedAtMs = performance.now();
    const sent = chunks.map(
      (chunk) =>
        new Promise<void>((resolve, reject) => {
          const bytes = chunk.reduce((sum, { message }) => sum + encodedMessageBytes(message), 0);
          this.queue.push({ messages: chunk, participants, bytes, urgent, queuedAtMs, resolve, reject });
        }),
    );
    if (urgent) this.endLinger?.();
    this.draining ??= this.drain().finally(() => {
      this.draining = null;
    });
    return Promise.all(sent).then(() => undefined);
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const lingerMs = this.decisionLingerMs();
      if (lingerMs > 0) {
        await this.linger(lingerMs);
        if (this.queue.length === 0) return; // closed meanwhile
      }
      const batch = this.takeBatch();
      try {
        await this.start();
        await this.createTopics([
          ...new Set(batch.flatMap((send) => send.messages.map(({ topic }) => topic))),
        ]);
        await this.producer.sendBatch({
          topicMessages: byTopic(batch),
          acks: -1,
          timeout: this.options.produceTimeoutMs,
          compression: CompressionTypes.None,
        });
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        this.logger.warn(`produce of ${batch.length} sends failed: ${failure.message}`);
        for (const participant of new Set(batch.flatMap((send) => send.participants))) {
          this.breakers.recordSendFailure(participant, failure);
        }
        this.counters.sendFailures += 1;
        for (const send of batch) send.reject(failure);
        continue;
      }
      for (const send of batch) {
        if (send.participants.length > 0) this.counters.commandsSent += send.messages.length;
        send.resolve();
      }
    }
  }

  /**
   * Decisions are sent once durable, and by then the client has its answer (unless it waits for
   * completion), while PREPAREs start the next transactions' clocks. Queued decisions with no
   * PREPARE beside them wait up to `decisionLingerMs` for the next ones: the two then leave in one
   * produce request, and each participant reads them in one fetch and answers them (ACKs and
   * VOTEs) in one produce request of its own. At 16 closed-loop clients that cut the produce
   * requests per transaction by 60% and Kafka's CPU by half, for 22–35% more transactions/s
   * (bench/README.md). Returns how much longer the queue may wait; 0: send now.
   */
  private decisionLingerMs(): number {
    const oldest = this.queue[0];
    if (oldest === undefined || this.queue.some((send) => send.urgent)) return 0;
    const queuedBytes = this.queue.reduce((sum, send) => sum + send.bytes, 0);
    if (queuedBytes >= this.options.sendBatchBytesMax) return 0;
    return Math.max(0, oldest.queuedAtMs + this.options.decisionLingerMs - performance.now());
  }

  /** Waits `ms`, or less if a PREPARE is queued or the channel closes meanwhile. */
  private linger(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.endLinger?.(), ms);
      this.endLinger = () => {
        clearTimeout(timer);
        this.endLinger = null;
        resolve();
      };
    });
  }

  /** The oldest queued sends up to `sendBatchBytesMax` (always at least one). */
  private takeBatch(): QueuedSend[] {
    let bytes = 0;
    let count = 0;
    for (const send of this.queue) {
      if (count > 0 && bytes + send.bytes > this.options.sendBatchBytesMax) break;
      bytes += send.bytes;
      count += 1;
    }
    const batch = this.queue.splice(0, count);
    for (const send of batch) this.queuedMessages -= send.messages.length;
    return batch;
  }

  /**
   * Other nodes and participants create the same topics at the same time; while one creation is
   * under way the broker answers "does not host this topic-partition", which kafkajs marks
   * retriable, so a few tries settle the race.
   */
  private async createTopicsRetrying(topics: readonly string[]): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        // kafkajs logs an ERROR line for every topic that already exists: ask first.
        const existing = new Set(await this.admin.listTopics());
        const missing = topics.filter((topic) => !existing.has(topic));
        if (missing.length === 0) return;
        await this.admin.createTopics({
          topics: missing.map((topic) => ({
            topic,
            numPartitions: this.options.topics.numPartitions,
            replicationFactor: this.options.topics.replicationFactor,
          })),
          waitForLeaders: true,
          timeout: this.options.requestTimeoutMs,
        });
        return;
      } catch (error) {
        if (attempt >= TOPIC_CREATION_ATTEMPTS || !(error instanceof KafkaJSError) || !error.retriable)
          throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  private createTopics(topics: readonly string[]): Promise<void> {
    const waits: Promise<void>[] = [];
    const missing: string[] = [];
    for (const topic of topics) {
      const known = this.topics.get(topic);
      if (known !== undefined) waits.push(known);
      else missing.push(topic);
    }
    if (missing.length > 0) {
      const creation = this.createTopicsRetrying(missing).then(
        () => undefined,
        (error: unknown) => {
          // Forget the attempt so that the next send asks again.
          for (const topic of missing) this.topics.delete(topic);
          throw error;
        },
      );
      for (const topic of missing) this.topics.set(topic, creation);
      waits.push(creation);
    }
    return Promise.all(waits).then(() => undefined);
  }

  private async onReplyBatch(
    payload: EachBatchPayload,
    handler: (replies: readonly ParticipantReply[]) => void,
  ): Promise<void> {
    const { batch } = payload;
    const replies: ParticipantReply[] = [];
    const parked: DeadLetter[] = [];
    for (const message of batch.messages) {
      const decoded = decodeReply(message.value);
      if (decoded.ok) {
        replies.push(decoded.message);
        continue;
      }
      this.logger.warn(
        `parking message ${batch.topic}[${batch.partition}]@${message.offset} on ${DEAD_LETTER_TOPIC}: ${decoded.reason}`,
      );
      parked.push(
        deadLetter(
          {
            topic: batch.topic,
            partition: batch.partition,
            offset: message.offset,
            key: message.key,
            value: message.value,
          },
          decoded.reason,
          `coordinator ${this.options.nodeId}`,
        ),
      );
    }
    // Deliver before parking: a dead-letter topic that cannot be written must not hold up
    // votes. If parking fails, the batch is fetched again and its replies delivered again, which
    // the engine treats as the duplicates Kafka may deliver anyway.
    for (const reply of replies) {
      if (reply.type === 'VOTE' || reply.type === 'ACK') this.breakers.recordSuccess(reply.participant);
    }
    if (replies.length > 0) this.deliver(handler, replies);
    if (parked.length > 0) {
      await this.park(parked);
      this.counters.messagesParked += parked.length;
    }
    const last = batch.messages.at(-1);
    if (last !== undefined) payload.resolveOffset(last.offset);
    await payload.heartbeat();
    await payload.commitOffsetsIfNecessary();
    if (!this.leading && batch.offsetLag() === '0') this.pauseReplies(payload.pause());
  }

  /**
   * A follower that has read everything stops fetching until `followerReadIntervalMs` has
   * passed (or it leads): the replies that arrive meanwhile come in one fetch instead of one
   * fetch per produce request of each participant.
   */
  private pauseReplies(resume: () => void): void {
    this.pausedReplies.push(resume);
    this.followerReadTimer ??= setTimeout(() => {
      this.followerReadTimer = null;
      this.resumeReplies();
    }, this.options.consumer.followerReadIntervalMs);
    this.followerReadTimer.unref();
  }

  private resumeReplies(): void {
    if (this.followerReadTimer !== null) clearTimeout(this.followerReadTimer);
    this.followerReadTimer = null;
    for (const resume of this.pausedReplies.splice(0)) resume();
  }

  private deliver(
    handler: (replies: readonly ParticipantReply[]) => void,
    replies: readonly ParticipantReply[],
  ): void {
    this.counters.replyBatches += 1;
    this.counters.repliesDelivered += replies.length;
    try {
      handler(replies);
    } catch (error) {
      // A throwing handler is a bug upstream; re-fetching the batch would only repeat it.
      this.logger.error(
        `replies handler threw on a batch of ${replies.length}: ${error instanceof Error ? error.stack : String(error)}`,
      );
    }
  }

  private park(letters: readonly DeadLetter[]): Promise<void> {
    return this.enqueue(
      letters.map((letter) => ({
        topic: DEAD_LETTER_TOPIC,
        message: { key: letter.key, value: Buffer.from(JSON.stringify(letter), 'utf8') },
      })),
      [],
      false,
    );
  }
}

function byTopic(batch: readonly QueuedSend[]): TopicMessages[] {
  const topics = new Map<string, Message[]>();
  for (const send of batch) {
    for (const { topic, message } of send.messages) {
      const messages = topics.get(topic);
      if (messages === undefined) topics.set(topic, [message]);
      else messages.push(message);
    }
  }
  return [...topics].map(([topic, messages]) => ({ topic, messages }));
}

/**
 * A new W3C trace context (version 00, sampled). Until the API propagates the caller's trace
 * into the engine, every command starts its own trace: the header is there so participants
 * can already log and forward it.
 */
function newTraceparent(): string {
  const bytes = pooledRandomBytes(24);
  return `00-${bytes.toString('hex', 0, 16)}-${bytes.toString('hex', 16, 24)}-01`;
}

function nestLogCreator(logger: Logger): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...fields } = log;
      const line = `${message} ${JSON.stringify(fields)}`;
      if (level === logLevel.ERROR) logger.error(line);
      else if (level === logLevel.WARN) logger.warn(line);
      else if (level === logLevel.INFO) logger.log(line);
      else logger.debug(line);
    };
}
