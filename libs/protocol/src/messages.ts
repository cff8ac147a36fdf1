import { z } from 'zod';
import { PARTICIPANT_NAME_PATTERN, PARTICIPANT_NAME_RULE } from './topics';

/**
 * The version of the envelope. A consumer parks messages of a version it does not know rather
 * than guessing what they mean.
 */
export const PROTOCOL_VERSION = 1;

/** A message larger than this is parked unread: a participant payload is a command, not a file. */
export const MESSAGE_BYTES_MAX = 1 << 20;

/** Kafka headers every message carries besides the body. */
export const HEADER_TRACEPARENT = 'traceparent';
export const HEADER_MESSAGE_TYPE = 'verdict-type';
/** W3C trace context, version 00: `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`. */
export const TRACEPARENT_PATTERN = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

export const TxIdSchema = z.uuid().describe('Transaction id: a UUIDv7, time-ordered');
export const ParticipantNameSchema = z
  .string()
  .regex(PARTICIPANT_NAME_PATTERN, `participant name: ${PARTICIPANT_NAME_RULE}`);

/** A participant's ballot on PREPARE. Not to be confused with a Raft `RequestVote`. */
export const ParticipantVoteSchema = z.enum(['YES', 'NO', 'READ_ONLY']);
export type ParticipantVote = z.infer<typeof ParticipantVoteSchema>;

export const OutcomeSchema = z.enum(['COMMIT', 'ABORT']);
export type Outcome = z.infer<typeof OutcomeSchema>;

const envelope = {
  v: z.literal(PROTOCOL_VERSION),
  txId: TxIdSchema,
  participant: ParticipantNameSchema,
  /**
   * Commands: the Raft term of the leader that sent it, so a participant can ignore a deposed
   * leader. Replies: the term of the command being answered (0 for an unprompted OUTCOME_QUERY).
   */
  term: z.int().nonnegative(),
  /** 1 for the first send of a command, counting up on every re-send. */
  attempt: z.int().positive(),
  sentAt: z.iso.datetime(),
};

// Coordinator → participant, on verdict.participant.<name>, keyed by txId.

export const PrepareSchema = z.strictObject({
  ...envelope,
  type: z.literal('PREPARE'),
  payload: z.strictObject({
    /** What the service asked this participant to do, exactly as given at begin/enlist. */
    work: z.unknown().optional(),
    /** After this instant the coordinator aborts; a participant may stop trying to prepare. */
    deadline: z.iso.datetime(),
    /** Every participant of the transaction, so a participant can tell a one-phase commit. */
    participants: z.array(ParticipantNameSchema).min(1),
  }),
});

export const CommitSchema = z.strictObject({
  ...envelope,
  type: z.literal('COMMIT'),
  payload: z.strictObject({
    /** Set on a single-participant transaction: prepare and commit in one step. */
    onePhase: z.boolean().optional(),
    work: z.unknown().optional(),
  }),
});

export const AbortSchema = z.strictObject({
  ...envelope,
  type: z.literal('ABORT'),
  payload: z.strictObject({
    /** Why the transaction aborted, in words, for the participant's logs. */
    reason: z.string().max(1000).optional(),
  }),
});

export const ParticipantCommandSchema = z.discriminatedUnion('type', [
  PrepareSchema,
  CommitSchema,
  AbortSchema,
]);

// Participant → coordinator, on verdict.coordinator.replies, keyed by txId.

export const VoteSchema = z.strictObject({
  ...envelope,
  type: z.literal('VOTE'),
  payload: z.strictObject({
    vote: ParticipantVoteSchema,
    /** Required when the vote is NO: what made the participant refuse. */
    reason: z.string().max(1000).optional(),
  }),
});

export const AckSchema = z.strictObject({
  ...envelope,
  type: z.literal('ACK'),
  payload: z.strictObject({
    /** The outcome the participant applied; it must match the decision acknowledged. */
    outcome: OutcomeSchema,
  }),
});

export const OutcomeQuerySchema = z.strictObject({
  ...envelope,
  type: z.literal('OUTCOME_QUERY'),
  payload: z.strictObject({}),
});

export const ParticipantReplySchema = z.discriminatedUnion('type', [
  VoteSchema,
  AckSchema,
  OutcomeQuerySchema,
]);

export type Prepare = z.infer<typeof PrepareSchema>;
export type Commit = z.infer<typeof CommitSchema>;
export type Abort = z.infer<typeof AbortSchema>;
export type ParticipantCommand = z.infer<typeof ParticipantCommandSchema>;
export type Vote = z.infer<typeof VoteSchema>;
export type Ack = z.infer<typeof AckSchema>;
export type OutcomeQuery = z.infer<typeof OutcomeQuerySchema>;
export type ParticipantReply = z.infer<typeof ParticipantReplySchema>;
export type ProtocolMessage = ParticipantCommand | ParticipantReply;
export type MessageType = ProtocolMessage['type'];

export const COMMAND_TYPES = ['PREPARE', 'COMMIT', 'ABORT'] as const;
export const REPLY_TYPES = ['VOTE', 'ACK', 'OUTCOME_QUERY'] as const;
