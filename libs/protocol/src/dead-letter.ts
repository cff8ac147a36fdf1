import { z } from 'zod';

/**
 * How much of a parked message's value a dead letter copies. A dead letter must itself fit in a
 * Kafka record (brokers refuse records above ~1 MB by default) even when the message was larger
 * (a compressed batch can carry one), and many fit in one produce request; the whole original
 * stays readable at its source topic, partition and offset.
 */
export const DEAD_LETTER_VALUE_BYTES_MAX = 16 * 1024;
/** A reason longer than this (e.g. every unknown key of a huge object) is cut. */
export const DEAD_LETTER_REASON_CHARS_MAX = 2000;
/** Likewise for the parked message's key, which becomes the dead letter's own Kafka key. */
export const DEAD_LETTER_KEY_BYTES_MAX = 1024;

/**
 * What a consumer writes to the dead-letter topic for a message it could not use. The original
 * bytes are kept (base64, the first DEAD_LETTER_VALUE_BYTES_MAX of them) so an operator can
 * inspect or replay them: nothing is lost.
 */
export const DeadLetterSchema = z.strictObject({
  reason: z.string().max(DEAD_LETTER_REASON_CHARS_MAX).describe('Why the message could not be used'),
  sourceTopic: z.string().describe('Where the parked message was read'),
  sourcePartition: z.int().nonnegative(),
  sourceOffset: z.string().regex(/^\d+$/).describe('Its offset, a decimal string (64-bit)'),
  parkedBy: z.string().describe('Which process parked it, e.g. `coordinator n2` or `participant bank-a`'),
  parkedAt: z.iso.datetime(),
  key: z
    .string()
    .nullable()
    .describe(`The Kafka key of the parked message as UTF-8 (its first ${DEAD_LETTER_KEY_BYTES_MAX} bytes)`),
  valueBase64: z.base64().nullable().describe('Its value (the first bytes when valueTruncated), base64'),
  valueBytes: z.int().nonnegative().optional().describe('The length of the whole value in bytes'),
  valueTruncated: z.boolean().optional().describe('True when valueBase64 holds only the first bytes'),
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

export function deadLetter(
  source: { topic: string; partition: number; offset: string; key: Buffer | null; value: Buffer | null },
  reason: string,
  parkedBy: string,
  now: Date = new Date(),
): DeadLetter {
  const value = source.value;
  const truncated = value !== null && value.length > DEAD_LETTER_VALUE_BYTES_MAX;
  return {
    reason: truncateReason(reason),
    sourceTopic: source.topic,
    sourcePartition: source.partition,
    sourceOffset: source.offset,
    parkedBy,
    parkedAt: now.toISOString(),
    key: source.key === null ? null : source.key.subarray(0, DEAD_LETTER_KEY_BYTES_MAX).toString('utf8'),
    valueBase64: value === null ? null : value.subarray(0, DEAD_LETTER_VALUE_BYTES_MAX).toString('base64'),
    ...(value !== null && { valueBytes: value.length }),
    ...(truncated && { valueTruncated: true }),
  };
}

/** Cuts a reason to DEAD_LETTER_REASON_CHARS_MAX characters, saying so. */
export function truncateReason(reason: string): string {
  if (reason.length <= DEAD_LETTER_REASON_CHARS_MAX) return reason;
  const note = ` … (cut from ${reason.length} characters)`;
  return reason.slice(0, DEAD_LETTER_REASON_CHARS_MAX - note.length) + note;
}
