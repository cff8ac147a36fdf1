import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeCommand, decodeReply } from './codec';
import { DeadLetterSchema } from './dead-letter';
import { COMMAND_TYPES } from './messages';
import { asyncApiValidators } from './testing/asyncapi-validators';

// docs/protocol.md is what a participant in another language is written from: every example in it
// must be accepted by the codec the consumers run and by the published AsyncAPI schemas.
const page = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'protocol.md'), 'utf8');
const examples = [...page.matchAll(/```json\n([\s\S]*?)```/g)].map(
  (match) => JSON.parse(match[1] ?? '') as { type?: string },
);
const validators = asyncApiValidators();

describe('docs/protocol.md examples', () => {
  it('has one complete example of every message type and of a dead letter', () => {
    expect(examples.map((example) => example.type ?? 'DEAD_LETTER').sort()).toEqual(
      ['PREPARE', 'VOTE', 'COMMIT', 'ABORT', 'ACK', 'OUTCOME_QUERY', 'DEAD_LETTER'].sort(),
    );
  });

  it.each(examples.map((example) => [example.type ?? 'DEAD_LETTER', example] as const))(
    '%s matches the AsyncAPI schema and the run-time codec',
    (type, example) => {
      expect(validators.check(validators.schemaNameOf(type), example)).toBeNull();
      if (type === 'DEAD_LETTER') {
        expect(DeadLetterSchema.safeParse(example).success).toBe(true);
        return;
      }
      const bytes = Buffer.from(JSON.stringify(example));
      const decoded = (COMMAND_TYPES as readonly string[]).includes(type)
        ? decodeCommand(bytes)
        : decodeReply(bytes);
      expect(decoded).toEqual({ ok: true, message: example });
    },
  );

  it('the dead letter example says what its bytes are', () => {
    const letter = examples.find((example) => example.type === undefined) as {
      valueBase64: string;
      valueBytes: number;
      reason: string;
    };
    const original = Buffer.from(letter.valueBase64, 'base64');
    expect(original.length).toBe(letter.valueBytes);
    expect(decodeCommand(original)).toEqual({ ok: false, reason: letter.reason });
  });
});
