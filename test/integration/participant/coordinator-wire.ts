// The coordinator's side of the participant wire, played by the tests until the real coordinator
// lands: sends PREPARE/COMMIT/ABORT envelopes on a participant's topic, collects VOTE/ACK/
// OUTCOME_QUERY from the replies topic, answers OUTCOME_QUERY with a recorded decision, and reads
// what participants parked on the dead-letter topic.
import {
  DEAD_LETTER_TOPIC,
  decodeReply,
  encodeMessage,
  participantTopic,
  REPLIES_TOPIC,
  uuidv7,
  type DeadLetter,
  type Outcome,
  type ParticipantCommand,
  type ParticipantReply,
} from '@verdict/protocol';
import { logLevel, Partitioners, type Consumer, type Producer } from 'kafkajs';
import { createKafka, uniqueGroupId } from '../../support/stack.js';

const WAIT_MS_DEFAULT = 30_000;

export class CoordinatorWire {
  readonly replies: ParticipantReply[] = [];
  readonly parked: DeadLetter[] = [];
  /** Decisions the wire answers OUTCOME_QUERY with, as the coordinator would from its log. */
  readonly decisions = new Map<string, { outcome: Outcome; term: number }>();
  private readonly producer: Producer;
  private readonly consumers: Consumer[] = [];

  private constructor(private readonly banks: ReadonlySet<string>) {
    this.producer = createKafka('test-coordinator-wire').producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
  }

  static async start(banks: readonly string[]): Promise<CoordinatorWire> {
    const wire = new CoordinatorWire(new Set(banks));
    await ensureTopics([REPLIES_TOPIC, DEAD_LETTER_TOPIC, ...banks.map(participantTopic)]);
    await wire.producer.connect();
    await wire.consume(REPLIES_TOPIC, (value) => wire.onReply(value));
    await wire.consume(DEAD_LETTER_TOPIC, (value) => wire.onParked(value));
    return wire;
  }

  async stop(): Promise<void> {
    await Promise.all([
      this.producer.disconnect(),
      ...this.consumers.map((consumer) => consumer.disconnect()),
    ]);
  }

  async send(...commands: ParticipantCommand[]): Promise<void> {
    await this.producer.send({
      topic: participantTopic(commands[0]?.participant ?? ''),
      messages: commands.map((command) => ({ key: command.txId, value: encodeMessage(command) })),
      acks: -1,
      timeout: 10_000,
    });
  }

  /** Bytes that are not a valid command, as a buggy or hostile producer might send them. */
  async sendRaw(bank: string, key: string, value: Buffer): Promise<void> {
    await this.producer.send({
      topic: participantTopic(bank),
      messages: [{ key, value }],
      acks: -1,
      timeout: 10_000,
    });
  }

  /** Resolves with the first reply matching `predicate` (already received or arriving later). */
  async reply(
    predicate: (reply: ParticipantReply) => boolean,
    waitMs = WAIT_MS_DEFAULT,
  ): Promise<ParticipantReply> {
    return waitUntil(() => this.replies.find(predicate), waitMs, 'a matching reply');
  }

  /** Resolves once `count` replies match, with all of them. */
  async repliesMatching(
    predicate: (reply: ParticipantReply) => boolean,
    count: number,
    waitMs = WAIT_MS_DEFAULT,
  ): Promise<ParticipantReply[]> {
    return waitUntil(
      () => {
        const matching = this.replies.filter(predicate);
        return matching.length >= count ? matching : undefined;
      },
      waitMs,
      `${count} matching replies`,
    );
  }

  async parkedFrom(bank: string, count: number, waitMs = WAIT_MS_DEFAULT): Promise<DeadLetter[]> {
    return waitUntil(
      () => {
        const parked = this.parked.filter((letter) => letter.sourceTopic === participantTopic(bank));
        return parked.length >= count ? parked : undefined;
      },
      waitMs,
      `${count} parked messages from ${bank}`,
    );
  }

  private async consume(topic: string, onValue: (value: Buffer) => Promise<void> | void): Promise<void> {
    const consumer = createKafka('test-coordinator-wire').consumer({
      groupId: uniqueGroupId('coordinator-wire'),
      sessionTimeout: 6_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 50,
      allowAutoTopicCreation: false,
    });
    this.consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.value !== null) await onValue(message.value);
      },
    });
  }

  private async onReply(value: Buffer): Promise<void> {
    const decoded = decodeReply(value);
    // The replies topic is shared by every test of the run: keep only this test's banks.
    if (!decoded.ok || !this.banks.has(decoded.message.participant)) return;
    const reply = decoded.message;
    this.replies.push(reply);
    const decision = this.decisions.get(reply.txId);
    if (reply.type === 'OUTCOME_QUERY' && decision !== undefined) {
      await this.send(decisionCommand(reply.participant, reply.txId, decision.outcome, decision.term));
    }
  }

  private onParked(value: Buffer): void {
    const letter = JSON.parse(value.toString('utf8')) as DeadLetter;
    if ([...this.banks].some((bank) => letter.sourceTopic === participantTopic(bank)))
      this.parked.push(letter);
  }
}

export function prepareCommand(
  bank: string,
  txId: string,
  work: unknown,
  options: { term?: number; attempt?: number; participants?: string[]; deadlineMs?: number } = {},
): ParticipantCommand {
  return {
    v: 1,
    type: 'PREPARE',
    txId,
    participant: bank,
    term: options.term ?? 1,
    attempt: options.attempt ?? 1,
    sentAt: new Date().toISOString(),
    payload: {
      work,
      deadline: new Date(Date.now() + (options.deadlineMs ?? 20_000)).toISOString(),
      participants: options.participants ?? [bank],
    },
  };
}

export function decisionCommand(
  bank: string,
  txId: string,
  outcome: Outcome,
  term = 1,
  attempt = 1,
): ParticipantCommand {
  const envelope = {
    v: 1,
    txId,
    participant: bank,
    term,
    attempt,
    sentAt: new Date().toISOString(),
  } as const;
  return outcome === 'COMMIT'
    ? { ...envelope, type: 'COMMIT', payload: {} }
    : { ...envelope, type: 'ABORT', payload: { reason: 'a participant voted NO' } };
}

/**
 * Two-phase commit the way DESIGN.md describes it, reduced to the wire: PREPARE everyone, COMMIT
 * only if every vote is YES or READ_ONLY, send the decision and wait for the ACKs.
 */
export async function runTwoPhaseCommit(
  wire: CoordinatorWire,
  txId: string,
  participants: readonly { name: string; payload?: unknown }[],
  term = 1,
): Promise<{ outcome: Outcome; votes: ParticipantReply[] }> {
  const names = participants.map((participant) => participant.name);
  for (const participant of participants) {
    await wire.send(
      prepareCommand(participant.name, txId, participant.payload, { term, participants: names }),
    );
  }
  const votes = await Promise.all(
    names.map((name) =>
      wire.reply((reply) => reply.type === 'VOTE' && reply.txId === txId && reply.participant === name),
    ),
  );
  const outcome: Outcome = votes.every((vote) => vote.type === 'VOTE' && vote.payload.vote !== 'NO')
    ? 'COMMIT'
    : 'ABORT';
  wire.decisions.set(txId, { outcome, term });
  // Read-only participants hold nothing and skip phase two.
  const holding = names.filter((_name, index) => {
    const vote = votes[index];
    return vote?.type === 'VOTE' && vote.payload.vote === 'YES';
  });
  for (const name of holding) await wire.send(decisionCommand(name, txId, outcome, term));
  await Promise.all(
    holding.map((name) =>
      wire.reply((reply) => reply.type === 'ACK' && reply.txId === txId && reply.participant === name),
    ),
  );
  return { outcome, votes };
}

export const newTxId = (): string => uuidv7();

async function ensureTopics(topics: readonly string[]): Promise<void> {
  const admin = createKafka('test-coordinator-wire', { logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      await admin.createTopics({
        topics: missing.map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })),
        waitForLeaders: true,
        timeout: 10_000,
      });
    }
  } finally {
    await admin.disconnect();
  }
}

export async function waitUntil<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  waitMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`waited ${waitMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
