import { Partitioners, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEAD_LETTER_TOPIC,
  decodeCommand,
  encodeMessage,
  participantTopic,
  REPLIES_TOPIC,
  uuidv7,
  type DeadLetter,
  type ParticipantCommand,
  type ParticipantReply,
  type Vote,
} from '@verdict/protocol';
import { createKafka, kafkaBrokers, uniqueGroupId, uniqueName } from '../../../../test/support/stack.js';
import { Test } from '@nestjs/testing';
import { KafkaParticipantChannel } from './kafka-participant-channel';
import { PARTICIPANT_CHANNEL, type ParticipantChannel } from './participant-channel';
import { ParticipantBreakers } from './participant-breakers';
import { TransportModule } from './transport.module';
import type { TransportOptions } from './transport-options';

function transportOptions(overrides: Partial<TransportOptions> = {}): TransportOptions {
  return {
    nodeId: uniqueName('n'),
    brokers: kafkaBrokers(),
    connectionTimeoutMs: 3_000,
    requestTimeoutMs: 10_000,
    produceTimeoutMs: 10_000,
    retries: 5,
    retryDelayMs: 100,
    retryDelayMsMax: 1_000,
    sendQueueMessagesMax: 10_000,
    sendBatchBytesMax: 1024 * 1024,
    decisionLingerMs: 0,
    consumer: {
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 1_000,
      rebalanceTimeoutMs: 10_000,
      maxWaitTimeMs: 5,
      followerReadIntervalMs: 1_000,
      // Fresh topics in a fresh broker: read what was written before the group joined.
      fromBeginning: true,
    },
    topics: { numPartitions: 1, replicationFactor: 1 },
    breakers: { failuresToOpen: 3, resetTimeoutMs: 60_000, probeTimeoutMs: 5_000 },
    ...overrides,
  };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What every message of these tests carries: term 2, a first attempt, sent now. */
function envelope(txId: string, participant: string) {
  return { v: 1, txId, participant, term: 2, attempt: 1, sentAt: new Date().toISOString() } as const;
}

function prepare(txId: string, participant: string, participants: readonly string[]): ParticipantCommand {
  return {
    ...envelope(txId, participant),
    type: 'PREPARE',
    payload: { deadline: new Date(Date.now() + 5_000).toISOString(), participants: [...participants] },
  };
}

function commit(txId: string, participant: string): ParticipantCommand {
  return { ...envelope(txId, participant), type: 'COMMIT', payload: {} };
}

function vote(txId: string, participant: string): Vote {
  return { ...envelope(txId, participant), type: 'VOTE', payload: { vote: 'YES' } };
}

describe('KafkaParticipantChannel on the stack broker', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function channel(overrides: Partial<TransportOptions> = {}): {
    channel: KafkaParticipantChannel;
    breakers: ParticipantBreakers;
  } {
    const options = transportOptions(overrides);
    const breakers = new ParticipantBreakers(options.breakers);
    const created = new KafkaParticipantChannel(options, breakers);
    cleanups.push(async () => {
      await created.close();
      breakers.close();
    });
    return { channel: created, breakers };
  }

  /** Reads `topics` from the beginning with a group of its own. */
  async function readTopics(
    topics: readonly string[],
  ): Promise<Array<{ topic: string; message: KafkaMessage }>> {
    const consumer: Consumer = createKafka('channel-test-reader').consumer({
      groupId: uniqueGroupId('channel-reader'),
      sessionTimeout: 6_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 100,
    });
    cleanups.push(() => consumer.disconnect());
    const received: Array<{ topic: string; message: KafkaMessage }> = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ topic, message }) => {
        received.push({ topic, message });
        return Promise.resolve();
      },
    });
    return received;
  }

  it('sends commands for two participants in one produce request, keyed by txId with type and trace headers', async () => {
    const { channel: sender } = channel();
    const bankA = uniqueName('bank-a');
    const bankB = uniqueName('bank-b');
    await sender.start();
    await sender.ensureTopics([bankA, bankB]);
    const txIds = [uuidv7(), uuidv7(), uuidv7()];
    const commands = txIds.flatMap((txId) =>
      [bankA, bankB].map((participant) => ({
        participant,
        message: prepare(txId, participant, [bankA, bankB]),
      })),
    );

    const requestsBefore = sender.metrics().produceRequests;
    await sender.send(commands);
    expect(sender.metrics().produceRequests - requestsBefore).toBe(1);
    expect(sender.metrics().commandsSent).toBe(6);

    const received = await readTopics([participantTopic(bankA), participantTopic(bankB)]);
    await waitFor(() => received.length === 6, 'six commands');
    for (const participant of [bankA, bankB]) {
      const onTopic = received.filter(({ topic }) => topic === participantTopic(participant));
      expect(onTopic.map(({ message }) => message.key?.toString())).toEqual(txIds);
      for (const { message } of onTopic) {
        const decoded = decodeCommand(message.value);
        expect(decoded).toMatchObject({ ok: true, message: { type: 'PREPARE', participant } });
        expect(message.headers?.['verdict-type']?.toString()).toBe('PREPARE');
        expect(message.headers?.['traceparent']?.toString()).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      }
    }
  });

  it('coalesces sends made while a produce request is under way, and creates topics on first use', async () => {
    const { channel: sender } = channel();
    await sender.start();
    const participants = [uniqueName('shop'), uniqueName('stock')];
    const requestsBefore = sender.metrics().produceRequests;
    // No ensureTopics: the first send creates the topics. 20 calls in one tick.
    await Promise.all(
      Array.from({ length: 20 }, (_, index) => {
        const participant = participants[index % 2] ?? '';
        return sender.send([{ participant, message: prepare(uuidv7(), participant, participants) }]);
      }),
    );
    // The first call leaves alone; the 19 queued behind it share the next request.
    expect(sender.metrics().produceRequests - requestsBefore).toBe(2);
    const received = await readTopics(participants.map(participantTopic));
    await waitFor(() => received.length === 20, 'twenty commands');
  });

  it('holds a COMMIT up to decisionLingerMs for the next PREPARE, and both leave in one produce request', async () => {
    const { channel: sender } = channel({ decisionLingerMs: 1_000 });
    const participant = uniqueName('bank');
    await sender.start();
    await sender.ensureTopics([participant]);
    const requestsBefore = sender.metrics().produceRequests;
    const decided = uuidv7();
    const committed = sender.send([{ participant, message: commit(decided, participant) }]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sender.metrics().produceRequests).toBe(requestsBefore);
    const next = uuidv7();
    const startedAt = performance.now();
    await Promise.all([
      committed,
      sender.send([{ participant, message: prepare(next, participant, [participant]) }]),
    ]);
    expect(performance.now() - startedAt).toBeLessThan(900);
    expect(sender.metrics().produceRequests - requestsBefore).toBe(1);
    const received = await readTopics([participantTopic(participant)]);
    await waitFor(() => received.length === 2, 'two commands');
    // In the order they were queued: a participant sees the decision first.
    expect(received.map(({ message }) => message.headers?.['verdict-type']?.toString())).toEqual([
      'COMMIT',
      'PREPARE',
    ]);
  });

  it('sends a COMMIT with no PREPARE coming once decisionLingerMs is over, and at once when closed', async () => {
    const { channel: sender } = channel({ decisionLingerMs: 300 });
    const participant = uniqueName('bank');
    await sender.start();
    await sender.ensureTopics([participant]);
    const startedAt = performance.now();
    await sender.send([{ participant, message: commit(uuidv7(), participant) }]);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(290);
    expect(sender.metrics().commandsSent).toBe(1);

    const { channel: closing } = channel({ decisionLingerMs: 1_000 });
    await closing.start();
    const held = closing.send([{ participant, message: commit(uuidv7(), participant) }]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const closedAt = performance.now();
    await closing.close();
    expect(performance.now() - closedAt).toBeLessThan(900);
    await expect(held).rejects.toThrow('transport is closing; the command was not sent');
  });

  it('delivers replies in batches and parks a malformed one with its reason while the rest still arrive', async () => {
    const { channel: receiver, breakers } = channel();
    const participant = uniqueName('bank-c');
    const batches: Array<readonly ParticipantReply[]> = [];
    await receiver.onReplies((replies) => batches.push(replies));

    const producer: Producer = createKafka('channel-test-participant').producer({
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    cleanups.push(() => producer.disconnect());
    await producer.connect();
    const before = Array.from({ length: 25 }, () => vote(uuidv7(), participant));
    const after = Array.from({ length: 25 }, () => vote(uuidv7(), participant));
    const badTxId = uuidv7();
    const badValue = Buffer.from(
      JSON.stringify({ ...vote(badTxId, participant), payload: { vote: 'MAYBE' } }),
    );
    await producer.send({
      topic: REPLIES_TOPIC,
      acks: -1,
      timeout: 10_000,
      messages: [
        ...before.map((reply) => ({ key: reply.txId, value: encodeMessage(reply) })),
        { key: badTxId, value: badValue },
        ...after.map((reply) => ({ key: reply.txId, value: encodeMessage(reply) })),
      ],
    });

    // Other suites may reply on the shared topic too: look only at this participant's.
    const mine = (): ParticipantReply[] =>
      batches.flat().filter((reply) => reply.participant === participant);
    await waitFor(() => mine().length === 50, 'fifty valid replies');
    expect(mine().map((reply) => reply.txId)).toEqual([...before, ...after].map((reply) => reply.txId));
    expect(batches.length).toBeLessThan(50); // in batches, not one call per message
    // A vote is a sign of life for the participant's breaker.
    expect(breakers.states()).toContainEqual(expect.objectContaining({ participant, state: 'closed' }));

    const parked = await readTopics([DEAD_LETTER_TOPIC]);
    await waitFor(
      () => parked.some(({ message }) => message.key?.toString() === badTxId),
      'the parked reply',
    );
    const letter = JSON.parse(
      parked.find(({ message }) => message.key?.toString() === badTxId)?.message.value?.toString() ?? '',
    ) as DeadLetter;
    expect(letter).toMatchObject({ sourceTopic: REPLIES_TOPIC, key: badTxId });
    expect(letter.reason).toMatch(/not a valid participant reply.*payload\.vote/);
    expect(letter.parkedBy).toMatch(/^coordinator n-/);
    expect(Buffer.from(letter.valueBase64 ?? '', 'base64')).toEqual(badValue);
    expect(receiver.metrics().messagesParked).toBeGreaterThanOrEqual(1);
  });

  it('reads replies in bulk while following: after catching up it waits, until it leads', async () => {
    const intervalMs = 2_000;
    const { channel: receiver } = channel({
      consumer: { ...transportOptions().consumer, followerReadIntervalMs: intervalMs },
    });
    const participant = uniqueName('bank-d');
    const seen: string[] = [];
    await receiver.onReplies((replies) => {
      for (const reply of replies) if (reply.participant === participant) seen.push(reply.txId);
    });
    const producer: Producer = createKafka('channel-test-participant').producer({
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    cleanups.push(() => producer.disconnect());
    await producer.connect();
    const reply = async (): Promise<string> => {
      const sent = vote(uuidv7(), participant);
      await producer.send({
        topic: REPLIES_TOPIC,
        acks: -1,
        messages: [{ key: sent.txId, value: encodeMessage(sent) }],
      });
      return sent.txId;
    };

    // A channel starts as a leader's: the topic's earlier replies and this one are read at once.
    const first = await reply();
    await waitFor(() => seen.includes(first), 'the first reply');
    receiver.setLeading(false);
    // Other suites reply on this topic too, so the follower may be pausing already: within one
    // interval it reads again.
    const second = await reply();
    await waitFor(() => seen.includes(second), 'the second reply, read by a follower', intervalMs + 5_000);
    // The batch that carried it left the follower caught up: it fetches again only after the
    // interval, whatever arrives meanwhile.
    const third = await reply();
    await new Promise((resolve) => setTimeout(resolve, intervalMs / 2));
    expect(seen).not.toContain(third);

    receiver.setLeading(true);
    await waitFor(() => seen.includes(third), 'the third reply, once leading', 5_000);
    const fourth = await reply();
    await waitFor(() => seen.includes(fourth), 'a reply read at once by the leader', 5_000);
    expect(seen).toEqual([first, second, third, fourth]);
  });

  it('opens the breaker of a participant whose commands cannot be sent', async () => {
    // Nothing listens on port 1: every send fails after the (short) retries.
    const { channel: sender, breakers } = channel({
      brokers: ['127.0.0.1:1'],
      connectionTimeoutMs: 200,
      requestTimeoutMs: 500,
      retries: 1,
      retryDelayMs: 10,
      retryDelayMsMax: 20,
    });
    const participant = uniqueName('bank-d');
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      await expect(
        sender.send([{ participant, message: prepare(uuidv7(), participant, [participant]) }]),
      ).rejects.toThrow(/ECONNREFUSED|Connection error/);
    }
    await waitFor(() => !breakers.isAvailable(participant), 'the circuit to open');
    expect(breakers.admit(participant)).toEqual({
      admitted: false,
      reason: expect.stringMatching(
        new RegExp(
          `^participant ${participant} is unavailable: circuit open after 3 consecutive send failures; retry after 60s$`,
        ),
      ) as unknown,
    });
    expect(sender.metrics().sendFailures).toBe(3);
  });

  it('wires TransportModule: the port is the started Kafka channel, and closing the module closes it', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [TransportModule.forRoot(transportOptions())],
    }).compile();
    await moduleRef.init(); // connects and creates the replies and dead-letter topics
    const port = moduleRef.get<ParticipantChannel>(PARTICIPANT_CHANNEL);
    expect(port).toBeInstanceOf(KafkaParticipantChannel);
    expect(moduleRef.get(ParticipantBreakers).states()).toEqual([]);
    const participant = uniqueName('bank-e');
    await port.send([{ participant, message: prepare(uuidv7(), participant, [participant]) }]);
    const received = await readTopics([participantTopic(participant)]);
    await waitFor(() => received.length === 1, 'the command');
    await moduleRef.close();
    await expect(
      port.send([{ participant, message: prepare(uuidv7(), participant, [participant]) }]),
    ).rejects.toThrow(/transport is closed/);
  });
});
