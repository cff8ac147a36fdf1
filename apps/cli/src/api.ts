// The shapes of the coordinator's REST answers the CLI reads, checked on arrival. The CLI talks
// to the public API only and never imports the coordinator's own types: it may run against a
// node of another version, so every object is loose (fields it does not know pass through to
// --json untouched) and fields that newer nodes add are optional here.
import { z } from 'zod';

const nullableString = z.string().nullable();

export const decisionSchema = z.looseObject({
  outcome: z.enum(['COMMIT', 'ABORT']),
  raftIndex: z.number(),
  raftTerm: z.number(),
  reason: z.string(),
  resolvedBy: nullableString,
  decidedAt: z.string(),
});
export type Decision = z.infer<typeof decisionSchema>;

export const participantStatusSchema = z.looseObject({
  name: z.string(),
  vote: nullableString,
  voteReason: nullableString,
  ack: z.boolean(),
  ackedAt: nullableString,
  attempts: z.number(),
  lastError: nullableString,
  breaker: z.string(),
});
export type ParticipantStatus = z.infer<typeof participantStatusSchema>;

export const timelineEventSchema = z.looseObject({
  at: z.string(),
  kind: z.string(),
  participant: nullableString.optional(),
  detail: z.string(),
  raftIndex: z.number().nullable().optional(),
  raftTerm: z.number().nullable().optional(),
  actor: nullableString.optional(),
});
export type TimelineEvent = z.infer<typeof timelineEventSchema>;

export const transactionSchema = z.looseObject({
  id: z.string(),
  state: z.string(),
  decision: decisionSchema.nullable(),
  participants: z.array(participantStatusSchema),
  createdAt: z.string(),
  deadline: z.string(),
  metadata: z.record(z.string(), z.string()),
  stuck: z.looseObject({ since: z.string(), reason: z.string() }).nullable(),
  finishedAt: nullableString,
  /** Absent on nodes older than the timeline; empty in list items. */
  timeline: z.array(timelineEventSchema).optional(),
});
export type Transaction = z.infer<typeof transactionSchema>;

export const transactionPageSchema = z.looseObject({
  items: z.array(transactionSchema),
  nextCursor: nullableString,
});
export type TransactionPage = z.infer<typeof transactionPageSchema>;

export const memberSchema = z.looseObject({
  nodeId: z.string(),
  role: z.string(),
  matchIndex: z.number().nullable(),
  lag: z.number().nullable(),
  lastContactMs: z.number().nullable(),
  httpUrl: nullableString.optional(),
});
export type Member = z.infer<typeof memberSchema>;

export const breakerSchema = z.looseObject({
  participant: z.string(),
  state: z.string(),
  since: z.string(),
});
export type Breaker = z.infer<typeof breakerSchema>;

/** One participant the node keeps a breaker for or read a reply from (GET /v1/cluster). */
export const clusterParticipantSchema = z.looseObject({
  name: z.string(),
  lastSeenAt: nullableString,
  breaker: nullableString,
});
export type ClusterParticipant = z.infer<typeof clusterParticipantSchema>;

export const clusterStatusSchema = z.looseObject({
  nodeId: z.string(),
  role: z.string(),
  term: z.number(),
  leaderId: nullableString,
  commitIndex: z.number(),
  appliedIndex: z.number(),
  members: z.array(memberSchema),
  breakers: z.array(breakerSchema),
  /** Absent from coordinators older than the last-seen record. */
  participants: z.array(clusterParticipantSchema).optional(),
  stats: z
    .looseObject({
      committed: z.number(),
      aborted: z.number(),
      inDoubt: z.number(),
      oldestInDoubtMs: z.number().nullable(),
    })
    .optional(),
});
export type ClusterStatus = z.infer<typeof clusterStatusSchema>;

/** RFC 9457 problem details as problem.ts on the coordinator writes them, with its extensions. */
export const problemSchema = z.looseObject({
  status: z.number(),
  code: z.string(),
  title: z.string().optional(),
  detail: z.string(),
  requestId: z.string().optional(),
  state: z.string().optional(),
  decision: decisionSchema.optional(),
  retryAfterMs: z.number().optional(),
  requiredRole: z.string().optional(),
  errors: z.array(z.looseObject({ field: z.string(), messages: z.array(z.string()) })).optional(),
});
export type Problem = z.infer<typeof problemSchema>;
