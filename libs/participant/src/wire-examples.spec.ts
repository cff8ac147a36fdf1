import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCommand, decodeReply } from '@verdict/protocol';
import { describe, expect, it } from 'vitest';

// docs/participants.md is what a participant in another language is written from: every example
// message in it must be one the codec accepts, on the topic the page says it travels on.
const page = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'participants.md'), 'utf8');
const examples = [...page.matchAll(/```json\n([\s\S]*?)```/g)].map(
  (match) => JSON.parse(match[1] ?? '') as { type?: string },
);

describe('docs/participants.md examples', () => {
  it('has one example of every message type and a dead letter', () => {
    expect(examples.map((example) => example.type ?? 'dead letter')).toEqual([
      'PREPARE',
      'VOTE',
      'COMMIT',
      'ABORT',
      'ACK',
      'OUTCOME_QUERY',
      'dead letter',
    ]);
  });

  it.each(examples.filter((example) => example.type !== undefined).map((example) => [example.type, example]))(
    '%s decodes with the protocol codec',
    (type, example) => {
      const bytes = Buffer.from(JSON.stringify(example));
      const decoded = ['PREPARE', 'COMMIT', 'ABORT'].includes(type ?? '')
        ? decodeCommand(bytes)
        : decodeReply(bytes);
      expect(decoded).toEqual({ ok: true, message: example });
    },
  );
});
