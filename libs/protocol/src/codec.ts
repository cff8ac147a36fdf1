import { z } from 'zod';
import { truncateReason } from './dead-letter';
import {
  MESSAGE_BYTES_MAX,
  ParticipantCommandSchema,
  ParticipantReplySchema,
  PROTOCOL_VERSION,
  type ParticipantCommand,
  type ParticipantReply,
  type ProtocolMessage,
} from './messages';

export type DecodeResult<T> = { ok: true; message: T } | { ok: false; reason: string };

/** Messages travel as UTF-8 JSON: readable in any language and in `kafka-console-consumer`. */
export function encodeMessage(message: ProtocolMessage): Buffer {
  return Buffer.from(JSON.stringify(message), 'utf8');
}

/**
 * Never throws: a consumer parks what this refuses and reads on. Anything unforeseen that a
 * hostile body makes the parser or the schema throw (a stack overflow on deep nesting, say)
 * becomes a reason too, instead of an exception that would make the consumer re-read the same
 * batch forever.
 */
function decode<T>(value: Buffer | null, schema: z.ZodType<T>, expected: string): DecodeResult<T> {
  try {
    return decodeOrThrow(value, schema, expected);
  } catch (error) {
    return {
      ok: false,
      reason: truncateReason(
        `could not be decoded: ${error instanceof Error ? error.message : String(error)}`,
      ),
    };
  }
}

function decodeOrThrow<T>(value: Buffer | null, schema: z.ZodType<T>, expected: string): DecodeResult<T> {
  if (value === null || value.length === 0) return { ok: false, reason: 'empty message body' };
  if (value.length > MESSAGE_BYTES_MAX) {
    return { ok: false, reason: `message is ${value.length} bytes; the limit is ${MESSAGE_BYTES_MAX}` };
  }
  let body: unknown;
  try {
    body = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: truncateReason(`body is not JSON: ${(error as Error).message}`) };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, reason: 'body is not a JSON object' };
  }
  const version = (body as { v?: unknown }).v;
  if (version !== PROTOCOL_VERSION) {
    return {
      ok: false,
      reason: truncateReason(
        `unsupported protocol version ${describeVersion(version)}; this consumer speaks v${PROTOCOL_VERSION}`,
      ),
    };
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    return {
      ok: false,
      // A huge object can yield a reason as long as itself; logs and dead letters get a bounded one.
      reason: truncateReason(
        `not a valid ${expected}: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`,
      ),
    };
  }
  return { ok: true, message: parsed.data };
}

/** A `v` as the reason shows it; an object or array is named, not printed (it may be nested 50,000 deep). */
function describeVersion(version: unknown): string {
  if (version === undefined) return 'undefined';
  if (typeof version === 'object' && version !== null)
    return Array.isArray(version) ? '(an array)' : '(an object)';
  return JSON.stringify(version);
}

/** For participants: a PREPARE, COMMIT or ABORT read from their command topic. */
export function decodeCommand(value: Buffer | null): DecodeResult<ParticipantCommand> {
  return decode(value, ParticipantCommandSchema, 'participant command (PREPARE, COMMIT or ABORT)');
}

/** For coordinators: a VOTE, ACK or OUTCOME_QUERY read from the replies topic. */
export function decodeReply(value: Buffer | null): DecodeResult<ParticipantReply> {
  return decode(value, ParticipantReplySchema, 'participant reply (VOTE, ACK or OUTCOME_QUERY)');
}
