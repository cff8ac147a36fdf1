/**
 * What a consumer writes to the dead-letter topic for a message it could not use. The original
 * bytes are kept (base64) so an operator can inspect or replay them: nothing is lost.
 */
export interface DeadLetter {
  readonly reason: string;
  readonly sourceTopic: string;
  readonly sourcePartition: number;
  readonly sourceOffset: string;
  /** Which process parked it, e.g. `coordinator n2` or `participant bank-a`. */
  readonly parkedBy: string;
  readonly parkedAt: string;
  readonly key: string | null;
  readonly valueBase64: string | null;
}

export function deadLetter(
  source: { topic: string; partition: number; offset: string; key: Buffer | null; value: Buffer | null },
  reason: string,
  parkedBy: string,
  now: Date = new Date(),
): DeadLetter {
  return {
    reason,
    sourceTopic: source.topic,
    sourcePartition: source.partition,
    sourceOffset: source.offset,
    parkedBy,
    parkedAt: now.toISOString(),
    key: source.key === null ? null : source.key.toString('utf8'),
    valueBase64: source.value === null ? null : source.value.toString('base64'),
  };
}
