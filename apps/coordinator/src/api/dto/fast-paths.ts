import { PARTICIPANT_NAME_PATTERN } from '@verdict/protocol';
import { isUUID } from 'class-validator';
import { z } from 'zod';
import { COMMIT_WAITS } from '../coordinator.port';
import {
  BeginTransactionDto,
  CommitQueryDto,
  PARTICIPANTS_PER_TX_MAX,
  ParticipantDto,
  TIMEOUT_MS_MAX,
  TIMEOUT_MS_MIN,
  TxIdParam,
} from './request.dto';
import { stringMapProblem } from './string-map.validator';

// The hot path's inputs, checked by compiled schemas before the validation pipe's class-transformer
// and class-validator (~16–40 µs for a begin body against ~0.5 µs). A schema here only *accepts*:
// what it accepts must be exactly what the DTO's decorators accept, built into the same instance;
// whatever it refuses goes on to class-validator, which stays the one source of field errors.
// fast-paths.spec.ts holds the two equal on generated inputs, valid and not.

type DtoClass = abstract new () => unknown;

const participant = z
  .strictObject({
    name: z.string().regex(PARTICIPANT_NAME_PATTERN),
    payload: z.unknown().optional(),
  })
  .transform((value) => Object.assign(new ParticipantDto(), value));

const begin = z
  .strictObject({
    timeoutMs: z.int().min(TIMEOUT_MS_MIN).max(TIMEOUT_MS_MAX).optional(),
    participants: z
      .array(participant)
      .max(PARTICIPANTS_PER_TX_MAX)
      .refine((all) => new Set(all.map((each) => each.name)).size === all.length)
      .optional(),
    // The same rule as @IsStringMap, not a second spelling of it.
    metadata: z.custom<Record<string, string>>((value) => stringMapProblem(value) === null).optional(),
    commit: z.enum(COMMIT_WAITS).optional(),
  })
  .transform((value) => Object.assign(new BeginTransactionDto(), value));

const txIdParam = z
  .strictObject({ txId: z.string().refine((txId) => isUUID(txId, 'all')) })
  .transform((value) => Object.assign(new TxIdParam(), value));

const commitQuery = z
  .strictObject({ wait: z.enum(COMMIT_WAITS).optional() })
  .transform((value) => Object.assign(new CommitQueryDto(), value));

/** The DTOs of begin, enlist and commit, each with the schema that may accept its input first. */
export const FAST_PATHS: ReadonlyMap<DtoClass, z.ZodType<object>> = new Map<DtoClass, z.ZodType<object>>([
  [BeginTransactionDto, begin],
  [ParticipantDto, participant],
  [TxIdParam, txIdParam],
  [CommitQueryDto, commitQuery],
]);

/** The DTO instance when the class has a fast path that accepts the input; else undefined. */
export function acceptFast(metatype: unknown, value: unknown): object | undefined {
  const schema = FAST_PATHS.get(metatype as DtoClass);
  if (schema === undefined || holdsStrippedKey(value)) return undefined;
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

const STRIPPED_KEYS = ['__proto__', 'prototype', 'constructor'];

/**
 * Nest's ValidationPipe deletes these keys wherever they are own properties of an object in the
 * input (a payload's included); such an input goes that way, to be handed on as it would be.
 */
function holdsStrippedKey(value: unknown): boolean {
  const stack = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current !== 'object' || current === null) continue;
    if (!Array.isArray(current) && STRIPPED_KEYS.some((key) => Object.hasOwn(current, key))) return true;
    for (const each of Object.values(current)) stack.push(each);
  }
  return false;
}
