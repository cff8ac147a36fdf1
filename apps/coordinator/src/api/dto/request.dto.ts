import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PARTICIPANT_NAME_PATTERN, PARTICIPANT_NAME_RULE } from '@verdict/protocol';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  IsUUID,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { COMMIT_WAITS, TX_STATES, type CommitWait, type TxState } from '../coordinator.port';
import {
  IsStringMap,
  METADATA_ENTRIES_MAX,
  METADATA_KEY_PATTERN,
  METADATA_VALUE_LENGTH_MAX,
} from './string-map.validator';

/** Must match DESIGN's limit and the engine's: a PREPARE fan-out is bounded. */
export const PARTICIPANTS_PER_TX_MAX = 64;
export const TIMEOUT_MS_MIN = 100;
export const TIMEOUT_MS_MAX = 600_000;
export const LIST_LIMIT_DEFAULT = 50;
export const LIST_LIMIT_MAX = 500;
export const CURSOR_LENGTH_MAX = 512;
export const REASON_LENGTH_MAX = 500;
/**
 * 100 years: anything older is every transaction there is. Unbounded, `now - olderThanMs` left
 * the range of a date (a query with olderThanMs=1e308 answered 500).
 */
export const OLDER_THAN_MS_MAX = 3_155_760_000_000;

/**
 * An optional body field may be left out, but not sent as null: the document types it without
 * null, and class-validator's IsOptional would take null for absent.
 */
function Omittable(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}

/**
 * A value handed on as it came. class-transformer's copy of a plain object drops every key named
 * like a method of Object.prototype (a payload's `toString`, a metadata key `valueOf`).
 */
function asGiven({ key, obj }: { key: string; obj: Record<string, unknown> }): unknown {
  return obj[key];
}

/**
 * A query integer written the one way JSON writes it. `Number()` would also take '', ' ', '1e3',
 * '0x10' and '1.5e308', so a value the document calls no integer would pass as one.
 */
function toQueryInteger({ value }: { value: unknown }): unknown {
  return typeof value === 'string' && /^-?(0|[1-9][0-9]{0,15})$/.test(value) ? Number(value) : value;
}

/** The alphabet VERDICT_NODE_ID allows (config/environment.ts): ids appear in logs, labels and URLs. */
export const NODE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
const NODE_ID_RULE =
  'lowercase letters, digits and dashes, starting with a letter or digit, at most 63 characters';
/** host:port, the host a name, an IPv4 address or a bracketed IPv6 address. */
const RAFT_ADDRESS_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

export class TxIdParam {
  @ApiProperty({ format: 'uuid', description: 'Transaction id (a UUIDv7)' })
  @IsUUID('all', { message: 'txId must be a UUID; transaction ids are the UUIDv7 returned by begin' })
  txId!: string;
}

export class NodeIdParam {
  @ApiProperty({ pattern: NODE_ID_PATTERN.source })
  @Matches(NODE_ID_PATTERN, { message: `nodeId: ${NODE_ID_RULE}` })
  nodeId!: string;
}

export class ParticipantDto {
  @ApiProperty({
    description: `Participant name: ${PARTICIPANT_NAME_RULE}. Commands go to Kafka topic verdict.participant.<name>.`,
    pattern: PARTICIPANT_NAME_PATTERN.source,
    example: 'bank-a',
  })
  @IsString()
  @Matches(PARTICIPANT_NAME_PATTERN, { message: `name: ${PARTICIPANT_NAME_RULE}` })
  name!: string;

  @ApiPropertyOptional({
    description:
      'Work for the participant, any JSON value; sent with PREPARE exactly as given. Like anywhere in a request body, an object key `__proto__`, or `constructor` holding `prototype`, is refused (400 MALFORMED_REQUEST).',
    // Any JSON value, null included: without these the document would say `object`.
    anyOf: [
      { type: 'object' },
      { type: 'array', items: {} },
      { type: 'string' },
      { type: 'number' },
      { type: 'boolean' },
    ],
    nullable: true,
    example: { from: 'alice', to: 'bob', amountCents: 1250 },
  })
  @IsOptional()
  @Transform(asGiven)
  payload?: unknown;
}

export class BeginTransactionDto {
  @ApiPropertyOptional({
    description: 'Prepare deadline in milliseconds from begin; no decision by then means ABORT.',
    type: 'integer',
    minimum: TIMEOUT_MS_MIN,
    maximum: TIMEOUT_MS_MAX,
    // Short enough that the document's own example of a begin with commit, sent to participants
    // that never answer (a fuzzer's), is decided within a client's patience.
    example: 5_000,
  })
  @Omittable()
  @IsInt()
  @Min(TIMEOUT_MS_MIN)
  @Max(TIMEOUT_MS_MAX)
  timeoutMs?: number;

  @ApiPropertyOptional({
    type: [ParticipantDto],
    maxItems: PARTICIPANTS_PER_TX_MAX,
    description: 'Participants to enlist at once, with distinct names.',
  })
  @Omittable()
  @ArrayMaxSize(PARTICIPANTS_PER_TX_MAX)
  @ArrayUnique((participant: ParticipantDto) => participant.name, {
    message: 'participants must have distinct names',
  })
  @ValidateNested({ each: true })
  @Type(() => ParticipantDto)
  participants?: ParticipantDto[];

  @ApiPropertyOptional({
    description: `Labels for operators, string values only: at most ${METADATA_ENTRIES_MAX} entries, keys matching ${METADATA_KEY_PATTERN.source}, values up to ${METADATA_VALUE_LENGTH_MAX} characters.`,
    type: 'object',
    additionalProperties: { type: 'string', maxLength: METADATA_VALUE_LENGTH_MAX },
    maxProperties: METADATA_ENTRIES_MAX,
    example: { orderId: 'ord-1042' },
  })
  @Omittable()
  @IsStringMap()
  @Transform(asGiven)
  metadata?: Record<string, string>;

  @ApiPropertyOptional({
    enum: COMMIT_WAITS,
    description:
      'Run two-phase commit in the same request, right after BEGIN is durable; the answer is then that of POST /v1/transactions/{txId}/commit with this wait. Needs the participants here. Send an Idempotency-Key, so that a retry after a lost answer finds the same transaction.',
  })
  @Omittable()
  @IsIn(COMMIT_WAITS)
  commit?: CommitWait;
}

export class CommitQueryDto {
  @ApiPropertyOptional({
    enum: COMMIT_WAITS,
    default: 'decision',
    description:
      'decision: answer once the decision is durable in the Raft log (the commit point). completion: also wait for every participant to acknowledge it.',
  })
  @IsOptional()
  @IsIn(COMMIT_WAITS)
  wait?: CommitWait;
}

export class ListTransactionsQueryDto {
  @ApiPropertyOptional({ enum: TX_STATES })
  @IsOptional()
  @IsIn(TX_STATES)
  state?: TxState;

  @ApiPropertyOptional({
    description: 'Only transactions this participant is enlisted in.',
    pattern: PARTICIPANT_NAME_PATTERN.source,
    example: 'bank-a',
  })
  @IsOptional()
  @Matches(PARTICIPANT_NAME_PATTERN, { message: `participant: ${PARTICIPANT_NAME_RULE}` })
  participant?: string;

  @ApiPropertyOptional({
    description: 'Only transactions created at least this many milliseconds ago.',
    type: 'integer',
    minimum: 0,
    maximum: OLDER_THAN_MS_MAX,
  })
  @IsOptional()
  @Transform(toQueryInteger)
  @IsInt()
  @Min(0)
  @Max(OLDER_THAN_MS_MAX)
  olderThanMs?: number;

  @ApiPropertyOptional({ description: 'true: only stuck transactions; false: only those not stuck.' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'stuck must be true or false' })
  stuck?: boolean;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: LIST_LIMIT_MAX, default: LIST_LIMIT_DEFAULT })
  @IsOptional()
  @Transform(toQueryInteger)
  @IsInt()
  @Min(1)
  @Max(LIST_LIMIT_MAX)
  limit?: number;

  @ApiPropertyOptional({
    description: 'nextCursor from the previous page; opaque.',
    maxLength: CURSOR_LENGTH_MAX,
  })
  @IsOptional()
  @IsString()
  @MaxLength(CURSOR_LENGTH_MAX)
  cursor?: string;
}

export class ResolveTransactionDto {
  @ApiProperty({ enum: ['commit', 'abort'], description: 'The decision to record.' })
  @IsIn(['commit', 'abort'])
  outcome!: 'commit' | 'abort';

  @ApiProperty({
    description: 'Why, for the audit trail: recorded in the decision and the log.',
    minLength: 1,
    maxLength: REASON_LENGTH_MAX,
    example: 'bank-b confirmed by phone that its ledger holds the prepared transfer',
  })
  @IsString()
  @Length(1, REASON_LENGTH_MAX)
  reason!: string;
}

export class RetryTransactionDto {
  @ApiPropertyOptional({
    description: 'Why, for the audit trail: shown on the RETRY event of the timeline and in the log.',
    minLength: 1,
    maxLength: REASON_LENGTH_MAX,
    example: 'bank-b is back after its database failover',
  })
  @Omittable()
  @IsString()
  @Length(1, REASON_LENGTH_MAX)
  reason?: string;
}

export class LeadershipTransferDto {
  @ApiPropertyOptional({
    description: 'Target node; the most caught-up follower when absent.',
    pattern: NODE_ID_PATTERN.source,
  })
  @Omittable()
  @Matches(NODE_ID_PATTERN, { message: `to: ${NODE_ID_RULE}` })
  to?: string;
}

export class AddMemberDto {
  @ApiProperty({ pattern: NODE_ID_PATTERN.source, example: 'node-4' })
  @Matches(NODE_ID_PATTERN, { message: `nodeId: ${NODE_ID_RULE}` })
  nodeId!: string;

  @ApiProperty({ description: "host:port of the member's Raft listener", example: '10.0.0.4:7400' })
  @Matches(RAFT_ADDRESS_PATTERN, { message: 'raftAddress must be host:port' })
  raftAddress!: string;

  @ApiProperty({ description: "Base URL of the member's HTTP API", example: 'http://10.0.0.4:8080' })
  @IsUrl(
    { require_protocol: true, require_tld: false, protocols: ['http', 'https'] },
    { message: 'httpUrl must be an http:// or https:// URL' },
  )
  httpUrl!: string;
}
