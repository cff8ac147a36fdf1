import { z } from 'zod';
import { DeadLetterSchema } from './dead-letter';
import {
  AbortSchema,
  AckSchema,
  CommitSchema,
  HEADER_MESSAGE_TYPE,
  HEADER_TRACEPARENT,
  MESSAGE_BYTES_MAX,
  OutcomeQuerySchema,
  PrepareSchema,
  PROTOCOL_VERSION,
  TRACEPARENT_PATTERN,
  VoteSchema,
  type MessageType,
} from './messages';
import { PRODUCE_REQUEST_BYTES_MAX } from './produce-chunks';
import { DEAD_LETTER_TOPIC, PARTICIPANT_NAME_PATTERN, PARTICIPANT_NAME_RULE, REPLIES_TOPIC } from './topics';

// The Kafka side of the contract as an AsyncAPI 3 document, generated from the zod schemas that
// decodeCommand and decodeReply validate with at run time: the document cannot describe a message
// the consumers would refuse, or accept one they would park. The coordinator serves it at
// /asyncapi.json; `node scripts/asyncapi.mjs` writes docs/asyncapi.json for offline readers.

export const ASYNCAPI_VERSION = '3.1.0';

/** Kafka-level compression (record batch attribute), independent of the JSON body. */
const COMPRESSION = `Compression: consumers read record batches that are uncompressed or compressed with gzip, snappy (raw or the xerial framing of Java clients), lz4 (frame format) or zstd; write whichever your client defaults to. The coordinator and the TypeScript SDK write uncompressed. A produce request stays under ${PRODUCE_REQUEST_BYTES_MAX / 1024} KiB of records so that no record batch reaches the broker's message.max.bytes.`;

/** The example transaction every example message belongs to. */
const EXAMPLE_TX_ID = '019ab8c2-6f10-7a3e-9d41-3c5e2f8b9a01';
const EXAMPLE_TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

interface MessageSpec {
  readonly type: MessageType;
  readonly schema: z.ZodType;
  readonly direction: 'command' | 'reply';
  readonly summary: string;
  readonly description: string;
  readonly example: Readonly<Record<string, unknown>>;
}

const envelope = (type: MessageType, participant: string, attempt: number, sentAt: string) => ({
  v: PROTOCOL_VERSION,
  type,
  txId: EXAMPLE_TX_ID,
  participant,
  term: type === 'OUTCOME_QUERY' ? 0 : 3,
  attempt,
  sentAt,
});

const MESSAGES: readonly MessageSpec[] = [
  {
    type: 'PREPARE',
    schema: PrepareSchema,
    direction: 'command',
    summary: 'Phase one: do the work durably and vote.',
    description:
      'Sent by the leader to every participant when the transaction is committed. `work` is exactly the payload given for this participant at begin or enlist; `deadline` is when the coordinator stops waiting for votes and aborts; `participants` lists every participant of the transaction. Answer with a VOTE. A repeated PREPARE gets the same vote again, and a PREPARE for a transaction whose decision was already applied gets the ACK of that decision: never prepare twice, never prepare after a decision.',
    example: {
      ...envelope('PREPARE', 'bank-a', 1, '2026-11-25T10:00:00.000Z'),
      payload: {
        work: { debit: { account: 'alice', amount: 2500 } },
        deadline: '2026-11-25T10:00:10.000Z',
        participants: ['bank-a', 'bank-b'],
      },
    },
  },
  {
    type: 'COMMIT',
    schema: CommitSchema,
    direction: 'command',
    summary: 'Phase two: make the prepared work permanent.',
    description:
      'Sent only after the COMMIT decision is committed in the replicated log; re-sent with backoff until this participant ACKs it. `onePhase: true` is set only when this participant is the only one: there was no PREPARE, so prepare and commit in one step (ACK COMMIT, or VOTE NO when the work cannot be done), and `work` carries the work. A COMMIT after a NO vote or after an applied ABORT is never acted on: park it and alert.',
    example: { ...envelope('COMMIT', 'bank-a', 2, '2026-11-25T10:00:00.050Z'), payload: {} },
  },
  {
    type: 'ABORT',
    schema: AbortSchema,
    direction: 'command',
    summary: 'Phase two: undo the work.',
    description:
      'Sent only after the ABORT decision is committed in the replicated log; re-sent until ACKed. It may overtake its PREPARE: record the abort durably, ACK it, and answer a later PREPARE of the same transaction with ACK ABORT instead of preparing. `reason` is for logs.',
    example: {
      ...envelope('ABORT', 'bank-b', 1, '2026-11-25T10:00:00.050Z'),
      payload: { reason: 'bank-a voted NO: insufficient funds in account alice' },
    },
  },
  {
    type: 'VOTE',
    schema: VoteSchema,
    direction: 'reply',
    summary: "A participant's ballot on PREPARE: YES, NO or READ_ONLY.",
    description:
      '`term` and `attempt` echo the PREPARE answered. YES is a promise: the work survives a crash and is committed or undone only on the decision. NO carries the reason (at most 1000 characters). READ_ONLY means nothing is held here; the participant then gets no phase two. A vote never changes: a repeated PREPARE is answered with the same vote.',
    example: {
      ...envelope('VOTE', 'bank-a', 1, '2026-11-25T10:00:00.012Z'),
      payload: { vote: 'NO', reason: 'insufficient funds in account alice' },
    },
  },
  {
    type: 'ACK',
    schema: AckSchema,
    direction: 'reply',
    summary: 'The participant applied the decision.',
    description:
      '`outcome` is the outcome applied; it must match the decision. `term` and `attempt` echo the COMMIT or ABORT answered. A repeated COMMIT or ABORT gets the same ACK again.',
    example: {
      ...envelope('ACK', 'bank-b', 1, '2026-11-25T10:00:00.061Z'),
      payload: { outcome: 'ABORT' },
    },
  },
  {
    type: 'OUTCOME_QUERY',
    schema: OutcomeQuerySchema,
    direction: 'reply',
    summary: 'A participant holding prepared work asks for the decision.',
    description:
      'Sent unprompted (so `term` is 0) for a transaction the participant holds prepared without a decision, e.g. after its own restart. The leader answers a decided transaction by sending its COMMIT or ABORT on the participant topic, and an unknown one with ABORT (presumed abort); an undecided one gets no answer yet: ask again later, or ask over REST (`GET /v1/transactions/{txId}/outcome`). Never decide on your own.',
    example: { ...envelope('OUTCOME_QUERY', 'bank-a', 4, '2026-11-25T10:05:00.000Z'), payload: {} },
  },
];

const DEAD_LETTER_EXAMPLE = {
  reason: "body is not JSON: Expected ',' or '}' after property value in JSON at position 23",
  sourceTopic: 'verdict.participant.bank-a',
  sourcePartition: 0,
  sourceOffset: '1742',
  parkedBy: 'participant bank-a',
  parkedAt: '2026-11-25T10:00:01.000Z',
  key: EXAMPLE_TX_ID,
  valueBase64: 'eyJ2IjoxLCJ0eXBlIjoiUFJFUEFSRSI=',
};

const ORDERING_AND_IDEMPOTENCY = [
  '**Keys and ordering.** Every protocol message is keyed by its `txId` (UTF-8), so all messages of one transaction, in one direction, stay in order on one partition. Kafka delivers at least once: a message may arrive twice, and a re-send (a higher `attempt`, or the same command from a new leader) may arrive after a later command of the same transaction. Across directions there is no order at all.',
  '',
  '**What the coordinator promises.** A COMMIT or ABORT is sent only after the decision is committed in the replicated Raft log; a decision never changes and is re-sent with backoff until the participant ACKs it. `term` is the Raft term of the sending leader and never goes down for one transaction. Replies may be duplicated freely: a repeated VOTE or ACK changes nothing.',
  '',
  '**What a participant promises.** Ignore a command whose `term` is lower than one already seen for that `txId`. Answer a repeated PREPARE with the same vote, a repeated COMMIT/ABORT with the same ACK, and a PREPARE after a decision with the ACK of that decision (never prepare again). Never decide on its own: with prepared work and no decision, send OUTCOME_QUERY or ask `GET /v1/transactions/{txId}/outcome`; an unknown transaction is presumed aborted.',
  '',
  `**Bad messages.** A message that does not decode (empty, not JSON, over ${MESSAGE_BYTES_MAX} bytes, an unknown \`v\`, a wrong field, an unknown field) is parked on \`${DEAD_LETTER_TOPIC}\` with the reason, and the consumer goes on with the next message. Unknown fields are rejected, so a new field comes with a new envelope version \`v\`.`,
].join('\n');

/** A JSON Schema (draft-07, the dialect AsyncAPI 3 schemas extend) from a zod schema. */
function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-07',
    unrepresentable: 'throw',
  }) as Record<string, unknown>;
  return rest;
}

function schemaName(type: MessageType): string {
  return type
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

/** The Kafka headers of one message type: `verdict-type` always, `traceparent` when the sender has a trace. */
function headersSchema(type: MessageType, direction: MessageSpec['direction']): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      [HEADER_MESSAGE_TYPE]: {
        const: type,
        description: 'The message type, for filtering without parsing the body.',
      },
      [HEADER_TRACEPARENT]: {
        type: 'string',
        pattern: TRACEPARENT_PATTERN.source,
        description:
          'W3C trace context. The coordinator sets it on every command; a reply carries the traceparent of the command it answers.',
      },
    },
    required: direction === 'command' ? [HEADER_MESSAGE_TYPE, HEADER_TRACEPARENT] : [HEADER_MESSAGE_TYPE],
  };
}

const KAFKA_BINDING_VERSION = '0.5.0';
const KEY_SCHEMA = { type: 'string', format: 'uuid', description: 'The transaction id (`txId`), UTF-8.' };

/** The AsyncAPI 3 document of the Kafka side, as the coordinator sees it. Deterministic. */
export function buildAsyncApiDocument(): Record<string, unknown> {
  const schemas: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const spec of MESSAGES) {
    const name = schemaName(spec.type);
    schemas[name] = jsonSchema(spec.schema);
    schemas[`${name}Headers`] = headersSchema(spec.type, spec.direction);
    messages[name] = {
      name: spec.type,
      title: spec.type,
      summary: spec.summary,
      description: spec.description,
      contentType: 'application/json',
      headers: { $ref: `#/components/schemas/${name}Headers` },
      payload: { $ref: `#/components/schemas/${name}` },
      correlationId: { $ref: '#/components/correlationIds/txId' },
      bindings: { kafka: { key: KEY_SCHEMA, bindingVersion: KAFKA_BINDING_VERSION } },
      examples: [
        {
          name: `${spec.type.toLowerCase()}-example`,
          headers: {
            [HEADER_MESSAGE_TYPE]: spec.type,
            ...(spec.type === 'OUTCOME_QUERY' ? {} : { [HEADER_TRACEPARENT]: EXAMPLE_TRACEPARENT }),
          },
          payload: spec.example,
        },
      ],
    };
  }
  schemas['DeadLetter'] = jsonSchema(DeadLetterSchema);
  messages['DeadLetter'] = {
    name: 'DEAD_LETTER',
    title: 'Dead letter',
    summary: 'A message a consumer could not use, with the reason.',
    description:
      'Written by any consumer (a coordinator node, a participant) instead of crashing or skipping silently. The original bytes are kept in base64 so an operator can inspect or replay them; a message too large to copy whole keeps its first bytes (`valueTruncated`), and the original stays at `sourceTopic`/`sourcePartition`/`sourceOffset`. Keyed by the original key. Every coordinator node reads the replies topic, so a bad reply is parked once by each node.',
    contentType: 'application/json',
    payload: { $ref: '#/components/schemas/DeadLetter' },
    bindings: {
      kafka: {
        key: { type: 'string', description: 'The key of the parked message, if it had one.' },
        bindingVersion: KAFKA_BINDING_VERSION,
      },
    },
    examples: [{ name: 'dead-letter-example', payload: DEAD_LETTER_EXAMPLE }],
  };

  const ref = (name: string): { $ref: string } => ({ $ref: `#/components/messages/${name}` });
  const commandNames = MESSAGES.filter((spec) => spec.direction === 'command').map((spec) =>
    schemaName(spec.type),
  );
  const replyNames = MESSAGES.filter((spec) => spec.direction === 'reply').map((spec) =>
    schemaName(spec.type),
  );
  const byName = (names: readonly string[]): Record<string, { $ref: string }> =>
    Object.fromEntries(names.map((name) => [name, ref(name)]));

  return {
    asyncapi: ASYNCAPI_VERSION,
    id: 'urn:verdict:wire-protocol',
    info: {
      title: 'Verdict wire protocol',
      version: `${PROTOCOL_VERSION}.0.0`,
      description: [
        `Two-phase commit between the Verdict coordinator and its participants over Kafka. Envelope version \`v: ${PROTOCOL_VERSION}\`. Every message is one UTF-8 JSON object of at most ${MESSAGE_BYTES_MAX} bytes: \`{ v, type, txId, participant, term, attempt, sentAt, payload }\`; unknown fields anywhere are rejected.`,
        '',
        'This document describes the coordinator: it sends commands on each participant topic and receives replies. A participant does the opposite. docs/protocol.md in the repository is the guide for implementers (the state machine a participant follows, with examples).',
        '',
        ORDERING_AND_IDEMPOTENCY,
        '',
        COMPRESSION,
      ].join('\n'),
      license: { name: 'Apache-2.0' },
    },
    defaultContentType: 'application/json',
    channels: {
      participantCommands: {
        address: 'verdict.participant.{participant}',
        title: 'Commands to one participant',
        description:
          'PREPARE, COMMIT and ABORT for the participant `{participant}`, written by the coordinator leader, read by that participant (all its instances in one consumer group, from the beginning of the topic when the group is new). Commit offsets only after the replies were written.',
        parameters: {
          participant: {
            description: `The participant's name: ${PARTICIPANT_NAME_RULE} (\`${PARTICIPANT_NAME_PATTERN.source}\`).`,
            examples: ['bank-a'],
          },
        },
        messages: byName(commandNames),
      },
      replies: {
        address: REPLIES_TOPIC,
        title: 'Replies from every participant',
        description:
          'VOTE, ACK and OUTCOME_QUERY from every participant. Every coordinator node reads it (one consumer group per node); only the leader acts on it.',
        messages: byName(replyNames),
      },
      deadLetter: {
        address: DEAD_LETTER_TOPIC,
        title: 'Parked messages',
        description: 'Messages a consumer could not use, with the reason, for operators.',
        messages: { DeadLetter: ref('DeadLetter') },
      },
    },
    operations: {
      sendCommand: {
        action: 'send',
        title: 'Send a command to a participant',
        summary: 'The leader sends PREPARE, then COMMIT or ABORT once the decision is in the replicated log.',
        channel: { $ref: '#/channels/participantCommands' },
        messages: commandNames.map((name) => ({ $ref: `#/channels/participantCommands/messages/${name}` })),
      },
      receiveReply: {
        action: 'receive',
        title: 'Receive replies',
        summary:
          'Every node consumes the replies; the leader counts votes and ACKs and answers OUTCOME_QUERY.',
        channel: { $ref: '#/channels/replies' },
        messages: replyNames.map((name) => ({ $ref: `#/channels/replies/messages/${name}` })),
      },
      parkMessage: {
        action: 'send',
        title: 'Park a message that cannot be used',
        channel: { $ref: '#/channels/deadLetter' },
        messages: [{ $ref: '#/channels/deadLetter/messages/DeadLetter' }],
      },
    },
    components: {
      schemas,
      messages,
      correlationIds: {
        txId: {
          description: 'All messages of one transaction carry its id, also as the Kafka key.',
          location: '$message.payload#/txId',
        },
      },
    },
  };
}
