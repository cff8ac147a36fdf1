import { CompressionCodecs, CompressionTypes, type KafkaMessage } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { startParticipant, type ParticipantService } from '@verdict/participant';
import {
  decodeReply,
  encodeMessage,
  participantTopic,
  REPLIES_TOPIC,
  uuidv7,
  type ParticipantCommand,
  type ParticipantReply,
  type Vote,
} from '@verdict/protocol';
import { KafkaParticipantChannel } from '../../apps/coordinator/src/transport/kafka-participant-channel';
import { ParticipantBreakers } from '../../apps/coordinator/src/transport/participant-breakers';
import { createKafka, createTopics, kafkaBrokers, uniqueGroupId, uniqueName } from '../support/stack.js';

const COMPRESSIONS = [
  ['gzip', CompressionTypes.GZIP],
  ['snappy', CompressionTypes.Snappy],
  ['lz4', CompressionTypes.LZ4],
  ['zstd', CompressionTypes.ZSTD],
] as const;

async function waitFor(
  condition: () => boolean,
  what: string | (() => string),
  timeoutMs = 45_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const vote = (txId: string, participant: string): Vote => ({
  v: 1,
  type: 'VOTE',
  txId,
  participant,
  term: 2,
  attempt: 1,
  sentAt: new Date().toISOString(),
  payload: { vote: 'YES' },
});

const prepare = (txId: string, participant: string): ParticipantCommand => ({
  v: 1,
  type: 'PREPARE',
  txId,
  participant,
  term: 2,
  attempt: 1,
  sentAt: new Date().toISOString(),
  payload: { deadline: new Date(Date.now() + 30_000).toISOString(), participants: [participant] },
});

const yesService: ParticipantService = {
  prepare: () => Promise.resolve({ vote: 'YES' }),
  commit: () => Promise.resolve(),
  abort: () => Promise.resolve(),
  inDoubt: () => Promise.resolve([]),
};

describe('compressed Kafka batches', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function producer() {
    const created = createKafka(uniqueName('compressing-client')).producer({ allowAutoTopicCreation: false });
    await created.connect();
    cleanups.push(() => created.disconnect());
    return created;
  }

  /** Votes of `participant` on the replies topic, as they arrive. */
  async function readVotes(participant: string): Promise<Map<string, ParticipantReply>> {
    const votes = new Map<string, ParticipantReply>();
    const reader = createKafka(uniqueName('replies-reader')).consumer({
      groupId: uniqueGroupId('compression-replies'),
      sessionTimeout: 6_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 100,
    });
    cleanups.push(() => reader.disconnect());
    await reader.connect();
    await reader.subscribe({ topics: [REPLIES_TOPIC], fromBeginning: true });
    await reader.run({
      eachMessage: ({ message }: { message: KafkaMessage }) => {
        const decoded = decodeReply(message.value);
        if (decoded.ok && decoded.message.participant === participant && decoded.message.type === 'VOTE') {
          votes.set(decoded.message.txId, decoded.message);
        }
        return Promise.resolve();
      },
    });
    return votes;
  }

  it('the coordinator reads votes compressed with gzip, snappy, lz4 and zstd', async () => {
    const breakers = new ParticipantBreakers({
      failuresToOpen: 3,
      resetTimeoutMs: 60_000,
      probeTimeoutMs: 5_000,
    });
    const channel = new KafkaParticipantChannel(
      {
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
          fromBeginning: true,
        },
        topics: { numPartitions: 1, replicationFactor: 1 },
        breakers: { failuresToOpen: 3, resetTimeoutMs: 60_000, probeTimeoutMs: 5_000 },
      },
      breakers,
    );
    cleanups.push(async () => {
      await channel.close();
      breakers.close();
    });
    const seen = new Set<string>();
    await channel.onReplies((replies) => {
      for (const reply of replies) seen.add(reply.txId);
    });
    expect(channel.repliesConsumerUp()).toBe(true);
    const client = await producer();
    const participant = uniqueName('bank');
    const sent: string[] = [];
    for (const [, compression] of COMPRESSIONS) {
      const txIds = [uuidv7(), uuidv7(), uuidv7()];
      sent.push(...txIds);
      await client.send({
        topic: REPLIES_TOPIC,
        compression,
        messages: txIds.map((txId) => ({ key: txId, value: encodeMessage(vote(txId, participant)) })),
      });
    }
    await waitFor(() => sent.every((txId) => seen.has(txId)), 'every compressed vote');
    expect(channel.metrics().repliesConsumerRebuilds).toBe(0);
  });

  it('a participant answers commands compressed with snappy, lz4 and zstd', async () => {
    const name = uniqueName('bank');
    const participant = await startParticipant({
      name,
      service: yesService,
      kafka: { brokers: kafkaBrokers(), maxWaitTimeMs: 10 },
    });
    cleanups.push(() => participant.stop());
    const votes = await readVotes(name);
    const client = await producer();
    const sent: string[] = [];
    for (const [, compression] of COMPRESSIONS.slice(1)) {
      const txIds = [uuidv7(), uuidv7()];
      sent.push(...txIds);
      await client.send({
        topic: participantTopic(name),
        compression,
        messages: txIds.map((txId) => ({ key: txId, value: encodeMessage(prepare(txId, name)) })),
      });
    }
    await waitFor(() => sent.every((txId) => votes.has(txId)), 'a vote for every compressed PREPARE');
    for (const txId of sent) expect(votes.get(txId)?.type).toBe('VOTE');
  });

  // The broker validates compressed batches on produce, so a corrupt one never reaches a consumer;
  // what does is a valid batch in a codec the consumer lacks (a franz-go participant's snappy before
  // these codecs): kafkajs then crashes the consumer for good. Here the snappy codec goes missing in
  // this process while the participant reads, and comes back.
  it('a participant whose consumer crashes on a batch it cannot decode rebuilds it until it can, then answers', async () => {
    const name = uniqueName('bank');
    await createTopics([participantTopic(name)]);
    const client = await producer();
    const txId = uuidv7();
    await client.send({
      topic: participantTopic(name),
      compression: CompressionTypes.Snappy,
      messages: [{ key: txId, value: encodeMessage(prepare(txId, name)) }],
    });
    const snappy = CompressionCodecs[CompressionTypes.Snappy];
    // What kafkajs itself throws for a codec it lacks; only this error makes it give up for good.
    CompressionCodecs[CompressionTypes.Snappy] = () => {
      throw Object.assign(new Error('Snappy compression not implemented'), { name: 'KafkaJSNotImplemented' });
    };
    const errors: string[] = [];
    try {
      const participant = await startParticipant({
        name,
        service: yesService,
        kafka: { brokers: kafkaBrokers(), maxWaitTimeMs: 10 },
        logger: {
          debug: () => undefined,
          info: () => undefined,
          warn: () => undefined,
          error: (message) => errors.push(message),
        },
      });
      cleanups.push(() => participant.stop());
      await waitFor(
        () => participant.consumerRebuilds() >= 1,
        () => `the commands consumer to be rebuilt; logged errors: ${errors.join(' | ')}`,
      );
      expect(errors.join('\n')).toMatch(
        /commands consumer of participant .* crashed and kafkajs will not restart it \(KafkaJSNotImplemented: Snappy compression not implemented\)/,
      );
      expect(errors.join('\n')).toMatch(/rebuilding it in 1000 ms \(crash 1 in a row\)/);
      CompressionCodecs[CompressionTypes.Snappy] = snappy;
      // Read only now: the replies topic holds snappy batches that this process could not read before.
      const votes = await readVotes(name);
      await waitFor(() => votes.has(txId), 'the vote once the codec is back');
      await waitFor(() => participant.consumerUp(), 'the commands consumer to be up');
    } finally {
      CompressionCodecs[CompressionTypes.Snappy] = snappy;
    }
  }, 120_000);
});
