import 'reflect-metadata';
import type { ArgumentMetadata } from '@nestjs/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createValidationPipe } from '../validation';
import { acceptFast, FAST_PATHS } from './fast-paths';
import { BeginTransactionDto, CommitQueryDto, ParticipantDto, TxIdParam } from './request.dto';

const SEED = 20261207;
const RUNS = 2_000;
const REFUSED = Symbol('refused');
const slowPipe = createValidationPipe({ fastPaths: false });

/** What class-validator makes of the input, or REFUSED. */
async function slowPath(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
  try {
    return await slowPipe.transform(value, metadata);
  } catch {
    return REFUSED;
  }
}

/** Inputs arrive parsed from JSON (a body) or as strings (a path or a query). */
const asParsed = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;

// Each field's values: mostly ones the rules accept (so that both paths are reached), their edges,
// and the mistakes clients make.
const anything = fc.jsonValue({ maxDepth: 2 });
const mostly = <T, U, V>(good: fc.Arbitrary<T>, edges: fc.Arbitrary<U>, wrong: fc.Arbitrary<V>) =>
  fc.oneof({ weight: 12, arbitrary: good }, { weight: 3, arbitrary: edges }, { weight: 1, arbitrary: wrong });
const name = mostly(
  fc.oneof(
    fc.constantFrom('bank-a', 'bank-b', 'a', 'x.y_z-1', '9lives'),
    fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,5}$/),
  ),
  fc.constantFrom('', 'Bank-A', '-bank', 'bank a', 'b'.repeat(64), 'b'.repeat(63)),
  anything,
);
const payload = mostly(
  anything,
  fc.constantFrom({ constructor: 'x' }, { nested: { prototype: 1 } }, [{ constructor: { a: 1 } }]),
  fc.constant(null),
);
const participant = mostly(
  fc.record({ name, payload }, { requiredKeys: ['name'] }),
  fc.record({ name, extra: anything }, { requiredKeys: [] }),
  anything,
);
const metadataKey = mostly(
  fc.constantFrom('orderId', 'a', 'x.y:z-1', 'toString', 'valueOf'),
  fc.constantFrom('', '-a', 'bad key', 'k'.repeat(65), 'constructor', 'prototype'),
  fc.string({ maxLength: 4 }),
);
const metadataValue = mostly(
  fc.string({ maxLength: 8 }),
  fc.constantFrom('v'.repeat(256), 'v'.repeat(257)),
  anything,
);
const metadata = mostly(
  fc.dictionary(metadataKey, metadataValue, { maxKeys: 4 }),
  fc.dictionary(fc.stringMatching(/^[a-z]{1,3}$/), fc.string(), { minKeys: 30, maxKeys: 34 }),
  anything,
);
const commitWait = mostly(
  fc.constantFrom('decision', 'completion'),
  fc.constantFrom('Decision', ''),
  anything,
);
const beginFields = {
  timeoutMs: mostly(
    fc.integer({ min: 100, max: 600_000 }),
    fc.constantFrom(99, 100, 600_000, 600_001, 1.5, '5000'),
    anything,
  ),
  participants: mostly(
    fc.array(participant, { maxLength: 4 }),
    fc.uniqueArray(fc.record({ name: fc.stringMatching(/^[a-z]{1,3}$/) }), {
      selector: (each) => each.name,
      minLength: 62,
      maxLength: 66,
    }),
    anything,
  ),
  metadata,
  commit: commitWait,
};
const beginBody = mostly(
  fc.record(beginFields, { requiredKeys: [] }),
  fc.record({ ...beginFields, timeoutMS: anything }, { requiredKeys: ['timeoutMS'] }),
  anything,
);
const txId = mostly(
  fc.uuid(),
  fc.constantFrom(
    '01890a5d-ac96-774b-bcce-b302099a8057',
    '01890A5D-AC96-774B-BCCE-B302099A8057',
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    '01890a5d-ac96-074b-bcce-b302099a8057',
    '01890a5d-ac96-974b-bcce-b302099a8057',
    '01890a5d-ac96-774b-7cce-b302099a8057',
    '01890a5dac96774bbcceb302099a8057',
  ),
  fc.string({ maxLength: 40 }),
);
const unknownKey = fc.option(fc.string({ maxLength: 8 }), { freq: 8, nil: undefined });

const cases = [
  { dto: BeginTransactionDto, type: 'body', input: beginBody },
  { dto: ParticipantDto, type: 'body', input: participant },
  {
    dto: TxIdParam,
    type: 'param',
    input: fc.record({ txId, other: unknownKey }, { requiredKeys: ['txId'] }),
  },
  {
    dto: CommitQueryDto,
    type: 'query',
    input: fc.record({ wait: commitWait, other: unknownKey }, { requiredKeys: [] }),
  },
] as const;

describe('fast paths of the validation pipe', () => {
  it('cover the DTOs of begin, enlist and commit', () => {
    expect([...FAST_PATHS.keys()]).toEqual(cases.map(({ dto }) => dto));
  });

  it.each(cases)(
    '$dto.name: what the fast path accepts, class-validator accepts as the same instance',
    async ({ dto, type, input }) => {
      const metadata: ArgumentMetadata = { type, metatype: dto };
      let fast = 0;
      let slow = 0;
      await fc.assert(
        fc.asyncProperty(input, async (generated) => {
          const value = asParsed(generated);
          // The slow path deletes keys from its input; each path gets its own copy.
          const accepted = acceptFast(dto, structuredClone(value));
          const validated = await slowPath(structuredClone(value), metadata);
          if (validated !== REFUSED) slow += 1;
          if (accepted === undefined) return;
          fast += 1;
          expect(validated).not.toBe(REFUSED);
          expect(accepted).toStrictEqual(validated);
        }),
        { seed: SEED, numRuns: RUNS },
      );
      // Not vacuous: the generators reach both sides, and most valid inputs go the fast way.
      expect(slow).toBeGreaterThan(RUNS / 10);
      expect(fast).toBeGreaterThan(slow * 0.8);
    },
  );

  it.each([
    [
      'a begin with its participants and commit',
      {
        participants: [{ name: 'bank-a', payload: { amount: 5 } }, { name: 'bank-b' }],
        timeoutMs: 10_000,
        commit: 'decision',
      },
    ],
    ['a begin with metadata', { metadata: { orderId: 'ord-1042' } }],
    ['an empty begin', {}],
  ])('takes the fast path for %s', (_case, body) => {
    expect(acceptFast(BeginTransactionDto, body)).toBeInstanceOf(BeginTransactionDto);
  });

  it("class-validator's path keeps payload and metadata keys named like methods of Object", async () => {
    const body = {
      participants: [{ name: 'bank-a', payload: { toString: 'x', nested: { valueOf: 1 } } }],
      metadata: { hasOwnProperty: 'y' },
    };
    await expect(
      slowPipe.transform(structuredClone(body), { type: 'body', metatype: BeginTransactionDto }),
    ).resolves.toEqual(body);
  });

  it('leaves an input holding a key the pipe deletes to the pipe', async () => {
    const body = { participants: [{ name: 'bank-a', payload: { to: 'bob', constructor: 'x' } }] };
    expect(acceptFast(BeginTransactionDto, structuredClone(body))).toBeUndefined();
    const validated = (await slowPipe.transform(body, {
      type: 'body',
      metatype: BeginTransactionDto,
    })) as BeginTransactionDto;
    expect(validated.participants?.[0]?.payload).toEqual({ to: 'bob' });
  });
});
