import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from '@asyncapi/parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildAsyncApiDocument } from './asyncapi';
import { decodeCommand, decodeReply, encodeMessage } from './codec';
import { deadLetter, DEAD_LETTER_VALUE_BYTES_MAX } from './dead-letter';
import { COMMAND_TYPES, MESSAGE_BYTES_MAX, type ProtocolMessage } from './messages';
import { asyncApiValidators } from './testing/asyncapi-validators';

const document = buildAsyncApiDocument();
const validators = asyncApiValidators(document);

interface Example {
  readonly headers?: Record<string, string>;
  readonly payload: Record<string, unknown>;
}
const components = document['components'] as {
  messages: Record<string, { name: string; headers?: { $ref: string }; examples: Example[] }>;
};

const decodes = (message: unknown): boolean => {
  const bytes = Buffer.from(JSON.stringify(message));
  const type = (message as { type?: unknown }).type;
  return (COMMAND_TYPES as readonly unknown[]).includes(type)
    ? decodeCommand(bytes).ok
    : decodeReply(bytes).ok;
};

describe('AsyncAPI document', () => {
  it('validates with @asyncapi/parser: no errors, no warnings', async () => {
    const { document: parsed, diagnostics } = await new Parser().parse(JSON.stringify(document));
    expect(
      diagnostics.map((each) => `${each.severity} ${each.code}: ${each.message} at ${each.path.join('.')}`),
    ).toEqual([]);
    expect(
      parsed
        ?.channels()
        .all()
        .map((channel) => channel.address()),
    ).toEqual(['verdict.participant.{participant}', 'verdict.coordinator.replies', 'verdict.dead-letter']);
    expect(
      parsed
        ?.messages()
        .all()
        .map((message) => message.name())
        .sort(),
    ).toEqual(['ABORT', 'ACK', 'COMMIT', 'DEAD_LETTER', 'OUTCOME_QUERY', 'PREPARE', 'VOTE'].sort());
  }, 30_000);

  it('docs/asyncapi.json is the generated document (run `node scripts/asyncapi.mjs` when this fails)', () => {
    const committed = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'asyncapi.json'), 'utf8');
    expect(JSON.parse(committed)).toEqual(document);
  });

  it('every example message matches its JSON Schema and headers, and the codec accepts it', () => {
    for (const message of Object.values(components.messages)) {
      const schema = validators.schemaNameOf(message.name);
      for (const example of message.examples) {
        expect(validators.check(schema, example.payload), message.name).toBeNull();
        if (message.headers !== undefined) {
          expect(validators.check(`${schema}Headers`, example.headers), message.name).toBeNull();
        }
        if (message.name !== 'DEAD_LETTER') expect(decodes(example.payload), message.name).toBe(true);
      }
    }
  });

  it('dead letters our code writes match the DeadLetter schema, a truncated one too', () => {
    const source = { topic: 'verdict.coordinator.replies', partition: 2, offset: '9007199254740993' };
    const letters = [
      deadLetter({ ...source, key: null, value: null }, 'empty message body', 'coordinator n1'),
      deadLetter(
        { ...source, key: Buffer.from('k'), value: Buffer.from('not json') },
        'body is not JSON',
        'participant bank-a',
      ),
      deadLetter(
        { ...source, key: Buffer.alloc(5000, 'k'), value: Buffer.alloc(MESSAGE_BYTES_MAX + 1, '{') },
        'x'.repeat(100_000),
        'coordinator n3',
      ),
    ];
    for (const letter of letters) expect(validators.check('DeadLetter', letter)).toBeNull();
    const truncated = letters[2];
    expect(truncated?.valueTruncated).toBe(true);
    expect(truncated?.valueBytes).toBe(MESSAGE_BYTES_MAX + 1);
    expect(Buffer.from(truncated?.valueBase64 ?? '', 'base64').length).toBe(DEAD_LETTER_VALUE_BYTES_MAX);
    expect(JSON.stringify(truncated).length).toBeLessThan(32 * 1024);
  });

  // One source of truth: the JSON Schema is generated from the zod schema the consumers run, so
  // for any mutation of a valid message both must give the same verdict.
  it('the JSON Schemas and the run-time codec agree on mutated messages', () => {
    const examples = Object.values(components.messages)
      .filter((message) => message.name !== 'DEAD_LETTER')
      .map((message) => message.examples[0]?.payload as unknown as ProtocolMessage);
    const anyValue = fc.oneof(
      fc.string(),
      fc.integer({ min: -5, max: 5 }),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom(
        'YES',
        'NO',
        'COMMIT',
        'ABORT',
        'PREPARE',
        'VOTE',
        'bank-a',
        '2026-11-25T10:00:00.000Z',
      ),
      fc.uuid(),
      fc.array(fc.string(), { maxLength: 2 }),
      fc.dictionary(fc.string({ maxLength: 4 }), fc.string(), { maxKeys: 2 }),
    );
    const mutation = fc.record({
      example: fc.constantFrom(...examples),
      inPayload: fc.boolean(),
      field: fc.constantFrom(
        'v',
        'type',
        'txId',
        'participant',
        'term',
        'attempt',
        'sentAt',
        'payload',
        'vote',
        'reason',
        'outcome',
        'deadline',
        'participants',
        'work',
        'onePhase',
        'extra',
      ),
      remove: fc.boolean(),
      value: anyValue,
    });
    fc.assert(
      fc.property(mutation, ({ example, inPayload, field, remove, value }) => {
        const message = structuredClone(example) as unknown as Record<string, unknown>;
        const target = inPayload ? (message['payload'] as Record<string, unknown>) : message;
        if (remove) delete target[field];
        else target[field] = value;
        const schema = validators.schemaNameOf(example.type);
        const byJsonSchema = validators.check(schema, message) === null;
        const byCodec = decodes(message) && (message as { type?: unknown }).type === example.type;
        // A changed `type` is judged by the other type's schema in the codec; compare like with like.
        if (field === 'type' && !inPayload && !remove) return;
        expect(byJsonSchema, JSON.stringify(message)).toBe(byCodec);
      }),
      { numRuns: 2000, seed: 20261125 },
    );
  });

  it('encodeMessage output of every example is what the schemas describe', () => {
    for (const message of Object.values(components.messages)) {
      if (message.name === 'DEAD_LETTER') continue;
      const payload = message.examples[0]?.payload as unknown as ProtocolMessage;
      const wire = JSON.parse(encodeMessage(payload).toString('utf8')) as unknown;
      expect(validators.check(validators.schemaNameOf(message.name), wire)).toBeNull();
    }
  });
});
