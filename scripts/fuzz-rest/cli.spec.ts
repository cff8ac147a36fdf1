import { describe, expect, it } from 'vitest';
import { countRequests, summarizeJunit } from '../schemathesis.mjs';
import { parseFuzzRestArguments } from './cli.mjs';

describe('npm run fuzz:rest arguments', () => {
  it('defaults, and every option', () => {
    expect(parseFuzzRestArguments(['--seed', '7'])).toEqual({
      maxExamples: 100,
      seed: 7,
      workers: 2,
      target: 'leader',
      keep: false,
    });
    expect(
      parseFuzzRestArguments([
        '--max-examples',
        '1000',
        '--seed',
        '3',
        '--workers',
        '1',
        '--target',
        'follower',
        '--keep',
      ]),
    ).toEqual({ maxExamples: 1000, seed: 3, workers: 1, target: 'follower', keep: true });
    expect(parseFuzzRestArguments(['--help'])).toBe('help');
  });

  it.each([
    [['--max-examples', '0'], '--max-examples needs a positive integer'],
    [['--workers', 'many'], '--workers needs a positive integer'],
    [['--target', 'n1'], '--target is leader or follower'],
    [['--checks', 'all'], 'unknown argument "--checks"'],
  ])('%j: %s', (argv, message) => {
    expect(() => parseFuzzRestArguments(argv)).toThrow(message);
  });
});

describe('schemathesis reports', () => {
  it('JUnit: counts test cases, failures and errors, with the failure text', () => {
    const xml = `<?xml version="1.0" ?>
<testsuites><testsuite name="schemathesis" tests="4">
  <testcase name="GET /v1/cluster" time="0.1"/>
  <testcase name="POST /v1/transactions" time="1.2"><failure type="failure" message="1. Server error">ST101 Server error
[500] Internal Server Error &amp; more</failure></testcase>
  <testcase name="GET /v1/session" time="0.1"><error type="error" message="Network Error">timed out</error></testcase>
  <testcase name="GET /metrics" time="0"><skipped message="no examples"/></testcase>
</testsuite></testsuites>`;
    expect(summarizeJunit(xml)).toEqual({
      tests: 4,
      failures: 1,
      errors: 1,
      skipped: 1,
      problems: [
        'POST /v1/transactions: ST101 Server error\n[500] Internal Server Error & more',
        'GET /v1/session: timed out',
      ],
    });
  });

  it('NDJSON: requests by phase and responses by operation and status', () => {
    const scenario = (phase: string, answers: [string, string, number][]): string =>
      JSON.stringify({
        ScenarioFinished: {
          phase,
          recorder: {
            cases: Object.fromEntries(
              answers.map(([method, path], index) => [`c${index}`, { value: { method, path } }]),
            ),
            interactions: Object.fromEntries(
              answers.map(([, , status], index) => [`c${index}`, { response: { status_code: status } }]),
            ),
          },
        },
      });
    const ndjson = [
      JSON.stringify({ Initialize: {} }),
      scenario('fuzzing', [['GET', '/v1/transactions', 200]]),
      scenario('stateful', [
        ['POST', '/v1/transactions', 201],
        ['POST', '/v1/transactions/{txId}/commit', 200],
        ['POST', '/v1/transactions', 201],
      ]),
      '',
    ].join('\n');
    expect(countRequests(ndjson)).toEqual({
      byPhase: { fuzzing: 1, stateful: 3 },
      byOperation: {
        'GET /v1/transactions': { 200: 1 },
        'POST /v1/transactions': { 201: 2 },
        'POST /v1/transactions/{txId}/commit': { 200: 1 },
      },
      noLeader: {},
    });
  });
});
