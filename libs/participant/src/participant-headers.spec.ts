import type { IHeaders } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { traceparentOf } from './participant';

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('the trace header of a command', () => {
  it.each([
    ['a string', { traceparent: VALID }, VALID],
    ['bytes', { traceparent: Buffer.from(VALID) }, VALID],
    ['the first of repeated values', { traceparent: [VALID, 'other'] }, VALID],
    ['absent', {}, null],
    // Kafka headers may carry a null value (length -1); reading it once threw and stalled the batch.
    ['null', { traceparent: null as unknown as string }, null],
    ['malformed', { traceparent: '00-bad' }, null],
    ['binary garbage', { traceparent: Buffer.from([0xff, 0x00]) }, null],
    ['huge', { traceparent: 'x'.repeat(10_000) }, null],
  ] satisfies [string, IHeaders, string | null][])('%s', (_name, headers, expected) => {
    expect(traceparentOf(headers)).toBe(expected);
  });
});
