// The transport's floor and ceiling: a Kafka request/response loop of the shape of PREPARE → VOTE,
// with kafkajs and the broker the coordinator uses. The requester runs in the benchmark process;
// each responder is a child process (this file run as a script), as a participant would be:
//   node scripts/bench/kafka-floor.mts <brokers> <requests topic> <replies topic>
// It prints `ready` once it consumes. Every responder has its own requests topic, as every
// participant has its own commands topic; all of them answer on one replies topic. Each request
// says how to answer it (header `mode`): `batched` answers a whole consumer batch with one send,
// `single` awaits one send per message. Responders load the protocol's kafkajs request-queue fix
// (libs/protocol/src/kafka-request-queue.ts), as participants do, so the floor is their transport.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners, type Consumer, type EachBatchPayload, type Message } from 'kafkajs';
import { withTimeout } from '../stack/support.mjs';
import { summarize, type LatencySummary } from './stats.mjs';

export type ReplyMode = 'batched' | 'single';

export interface KafkaFloors {
  /** One request in flight to one responder. */
  readonly oneAtATime: { readonly roundTripsPerSecond: number; readonly latency: LatencySummary };
  /**
   * One request to each of `responders` responders in one send, done when the last one answered:
   * the latency a transaction's PREPARE → last VOTE cannot beat with that many participants.
   */
  readonly fanOut: {
    readonly responders: number;
    readonly roundTripsPerSecond: number;
    readonly latency: LatencySummary;
  };
  /** `outstanding` in flight, every consumer batch answered with one send: the ceiling. */
  readonly batched: { readonly roundTripsPerSecond: number; readonly latency: LatencySummary };
  /** Same, but one awaited send per reply. */
  readonly single: { readonly roundTripsPerSecond: number; readonly latency: LatencySummary };
  readonly outstanding: number;
}

const PAYLOAD = JSON.stringify({ v: 1, type: 'PREPARE', padding: 'x'.repeat(150) });
/** As the coordinator's and the SDK's consumers: an idle fetch waits this long; data wakes it at once. */
const MAX_WAIT_MS = 500;
/**
 * Offsets as the coordinator's and the SDK's consumers commit them (OFFSET_COMMITS in
 * libs/protocol, which says why): not after every batch, at most once a second.
 */
const COMMIT = { autoCommit: false, autoCommitInterval: 1_000, autoCommitThreshold: null } as const;
/** A consumer group join on a loaded machine; any round trip slower than this is a failure. */
const JOIN_TIMEOUT_MS = 60_000;

function kafkaClient(brokers: readonly string[], clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: [...brokers],
    logLevel: logLevel.WARN,
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
  });
}

function consumerFor(kafka: Kafka, groupId: string): Consumer {
  return kafka.consumer({ groupId, maxWaitTimeInMs: MAX_WAIT_MS, minBytes: 1, sessionTimeout: 10_000 });
}

/** The responder's loop: echoes every request's key to the replies topic. */
async function respond(brokers: readonly string[], requests: string, replies: string): Promise<void> {
  const kafka = kafkaClient(brokers, 'bench-floor-responder');
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const consumer = consumerFor(kafka, `${requests}-responder`);
  await producer.connect();
  await consumer.connect();
  // The topics are new to this run: from the beginning, so nothing sent before the join is missed.
  await consumer.subscribe({ topics: [requests], fromBeginning: true });
  const reply = (message: { key: Buffer | null }): Message => ({ key: message.key, value: PAYLOAD });
  await consumer.run({
    ...COMMIT,
    eachBatch: async (payload: EachBatchPayload) => {
      const { batch } = payload;
      const single = batch.messages[0]?.headers?.['mode']?.toString() === 'single';
      if (single) {
        for (const message of batch.messages) {
          await producer.send({ topic: replies, messages: [reply(message)], acks: -1 });
          payload.resolveOffset(message.offset);
        }
      } else {
        await producer.send({ topic: replies, messages: batch.messages.map(reply), acks: -1 });
        const last = batch.messages.at(-1);
        if (last !== undefined) payload.resolveOffset(last.offset);
      }
      await payload.commitOffsetsIfNecessary();
      await payload.heartbeat();
    },
  });
  console.log('ready');
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await consumer.disconnect();
  await producer.disconnect();
}

/**
 * The requester's side of the measurements, against responders already consuming `requests`
 * (one topic each; the first one alone serves the one-responder measurements). Requests are sent
 * the way the coordinator sends: whatever is ready in one send. Before anything is measured,
 * `warmupMs` of unmeasured round trips: the requester and the responders are new processes, and
 * their first seconds (code not yet compiled) would make the floor look slower than it is.
 */
export async function measureKafkaFloors(options: {
  readonly brokers: readonly string[];
  readonly requests: readonly [string, ...string[]];
  readonly replies: string;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly outstanding: number;
}): Promise<KafkaFloors> {
  const kafka = kafkaClient(options.brokers, 'bench-floor-requester');
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const consumer = consumerFor(kafka, `${options.replies}-requester`);
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [options.replies], fromBeginning: true });
  const pending = new Map<string, () => void>();
  let onBatchDone: ((count: number) => void) | null = null;
  await consumer.run({
    ...COMMIT,
    eachBatch: async (payload: EachBatchPayload) => {
      const { batch } = payload;
      let count = 0;
      for (const message of batch.messages) {
        const key = message.key?.toString() ?? '';
        const waiter = pending.get(key);
        if (waiter !== undefined) {
          pending.delete(key);
          waiter();
          count += 1;
        }
      }
      const last = batch.messages.at(-1);
      if (last !== undefined) payload.resolveOffset(last.offset);
      onBatchDone?.(count);
      await payload.commitOffsetsIfNecessary();
    },
  });
  let sequence = 0;
  const latencies: number[] = [];
  const answer = (key: string): Promise<void> => new Promise<void>((resolve) => pending.set(key, resolve));
  const send = (count: number, mode: ReplyMode): Promise<void>[] => {
    const messages: Message[] = [];
    const answered: Promise<void>[] = [];
    for (let index = 0; index < count; index += 1) {
      sequence += 1;
      const key = String(sequence);
      const sentAt = performance.now();
      answered.push(answer(key).then(() => void latencies.push(performance.now() - sentAt)));
      messages.push({ key, value: PAYLOAD, headers: { mode } });
    }
    void producer.send({ topic: options.requests[0], messages, acks: -1 });
    return answered;
  };
  /** One request to each responder, as a PREPARE to each participant: answered when all are. */
  const fanOut = async (): Promise<void> => {
    sequence += 1;
    const sentAt = performance.now();
    const keys = options.requests.map((_, index) => `${sequence}/${index}`);
    const answered = Promise.all(keys.map(answer));
    void producer.sendBatch({
      topicMessages: options.requests.map((topic, index) => ({
        topic,
        messages: [{ key: keys[index] ?? null, value: PAYLOAD, headers: { mode: 'batched' } }],
      })),
      acks: -1,
    });
    await withTimeout(answered, JOIN_TIMEOUT_MS, 'a Kafka fan-out round trip');
    latencies.push(performance.now() - sentAt);
  };
  // Each consumer's group join takes a moment: the first round trips wait for it, unmeasured.
  await withTimeout(Promise.all(send(1, 'batched')), JOIN_TIMEOUT_MS, 'the first Kafka round trip');
  await fanOut();

  const oneAtATime = async (roundTrip: () => Promise<unknown>, durationMs: number) => {
    latencies.length = 0;
    const started = performance.now();
    while (performance.now() - started < durationMs) await roundTrip();
    const seconds = (performance.now() - started) / 1000;
    return {
      roundTripsPerSecond: latencies.length / seconds,
      latency: summarize(latencies) as LatencySummary,
    };
  };
  const one = () => withTimeout(Promise.all(send(1, 'batched')), JOIN_TIMEOUT_MS, 'a Kafka round trip');
  const windowed = async (mode: ReplyMode): Promise<KafkaFloors['batched']> => {
    latencies.length = 0;
    const started = performance.now();
    let stopping = false;
    const drained = new Promise<void>((resolve) => {
      onBatchDone = (count) => {
        if (!stopping && performance.now() - started >= options.durationMs) stopping = true;
        if (!stopping && count > 0) void send(count, mode);
        if (stopping && pending.size === 0) resolve();
      };
    });
    void send(options.outstanding, mode);
    await withTimeout(drained, options.durationMs + JOIN_TIMEOUT_MS, `the ${mode} round trips`);
    onBatchDone = null;
    const seconds = (performance.now() - started) / 1000;
    return {
      roundTripsPerSecond: latencies.length / seconds,
      latency: summarize(latencies) as LatencySummary,
    };
  };
  try {
    await oneAtATime(one, options.warmupMs / 2);
    await oneAtATime(fanOut, options.warmupMs / 2);
    const single = await oneAtATime(one, options.durationMs);
    const fanned = await oneAtATime(fanOut, options.durationMs);
    const batched = await windowed('batched');
    const perMessage = await windowed('single');
    return {
      oneAtATime: single,
      fanOut: { responders: options.requests.length, ...fanned },
      batched,
      single: perMessage,
      outstanding: options.outstanding,
    };
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [brokers, requests, replies] = process.argv.slice(2);
  if (brokers === undefined || requests === undefined || replies === undefined) {
    console.error('usage: kafka-floor.mts <brokers> <requests topic> <replies topic>');
    process.exit(2);
  }
  // dist/ is built by then: the benchmark builds before it measures a floor.
  createRequire(import.meta.url)('../../dist/libs/protocol/src/kafka-request-queue.js');
  await respond(brokers.split(','), requests, replies);
  process.exit(0);
}
