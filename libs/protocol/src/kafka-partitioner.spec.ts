import { Partitioners, type PartitionerArgs, type PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { keyedPartitioner } from './kafka-partitioner';

function partitions(count: number): PartitionMetadata[] {
  return Array.from({ length: count }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 1,
    replicas: [1],
    isr: [1],
  }));
}

describe('keyedPartitioner', () => {
  it('chooses what kafkajs DefaultPartitioner chooses, for one partition or many', () => {
    const ours = keyedPartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    for (const count of [1, 2, 7]) {
      for (let index = 0; index < 200; index += 1) {
        const args: PartitionerArgs = {
          topic: 'verdict.participant.bank-a',
          partitionMetadata: partitions(count),
          message: { key: `0190f0c1-0000-7000-8000-${String(index).padStart(12, '0')}`, value: 'x' },
        };
        expect(ours(args)).toBe(theirs(args));
      }
    }
  });

  it('keeps a partition the message names', () => {
    const args: PartitionerArgs = {
      topic: 't',
      partitionMetadata: partitions(1),
      message: { key: 'k', value: 'x', partition: 0 },
    };
    expect(keyedPartitioner()(args)).toBe(0);
    expect(
      keyedPartitioner()({
        ...args,
        partitionMetadata: partitions(3),
        message: { ...args.message, partition: 2 },
      }),
    ).toBe(2);
  });
});
