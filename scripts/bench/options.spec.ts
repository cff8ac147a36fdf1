import { describe, expect, it } from 'vitest';
import { parseBenchArguments, RESULTS_DIRECTORY, type BenchOptions } from './options.mjs';

function options(argv: readonly string[]): BenchOptions {
  const parsed = parseBenchArguments(argv);
  if (parsed === 'help') throw new Error('unexpected --help');
  return parsed;
}

describe('npm run bench arguments', () => {
  it('default to 2 no-op participants at 1, 4, 16 and 64 clients for 15 s, no failover', () => {
    expect(options([])).toEqual({
      participants: 2,
      kind: 'noop',
      clients: [1, 4, 16, 64],
      durationSeconds: 15,
      warmupSeconds: 2,
      stackWarmupSeconds: 10,
      failover: false,
      failoverVariant: 'enlist',
      pacedRate: null,
      cpuProfile: false,
      dtm: false,
      name: 'noop-2p',
      resultsDirectory: RESULTS_DIRECTORY,
    });
    expect(parseBenchArguments(['--duration', '3', '--help'])).toBe('help');
  });

  it('read every option; the name follows kind and participants unless given', () => {
    expect(
      options([
        '--participants',
        '3',
        '--kind',
        'noop',
        '--clients',
        '8,2',
        '--duration',
        '3',
        '--warmup',
        '0',
        '--stack-warmup',
        '0',
        '--failover',
        '--failover-variant',
        'one-request',
        '--paced-rate',
        '450',
        '--cpu-prof',
        '--dtm',
      ]),
    ).toMatchObject({
      participants: 3,
      kind: 'noop',
      clients: [8, 2],
      durationSeconds: 3,
      warmupSeconds: 0,
      stackWarmupSeconds: 0,
      failover: true,
      failoverVariant: 'one-request',
      pacedRate: 450,
      cpuProfile: true,
      dtm: true,
      name: 'noop-3p',
    });
    expect(options(['--kind', 'postgres'])).toMatchObject({
      kind: 'postgres',
      name: 'postgres-2p',
      dtm: false,
    });
    expect(options(['--name', 'after-batching', '--results', '/tmp/bench']).name).toBe('after-batching');
    expect(options(['--results', '/tmp/bench']).resultsDirectory).toBe('/tmp/bench');
  });

  it('refuse what would be measured wrongly, naming the option', () => {
    expect(() => options(['--participants', '4'])).toThrow(
      /--participants needs an integer from 1 to 3, got "4"/,
    );
    expect(() => options(['--kind', 'mysql'])).toThrow(/--kind must be one of noop, postgres/);
    expect(() => options(['--clients', '1,,4'])).toThrow(/--clients needs an integer/);
    expect(() => options(['--clients', '4,4'])).toThrow(/twice/);
    expect(() => options(['--clients', '0'])).toThrow(/from 1 to 1024/);
    expect(() => options(['--duration', '2.5'])).toThrow(/--duration needs an integer/);
    expect(() => options(['--duration'])).toThrow(/got null/);
    expect(() => options(['--failover-variant', 'at-begin'])).toThrow(
      /--failover-variant must be one of enlist, one-request/,
    );
    expect(() => options(['--paced-rate', '0'])).toThrow(/--paced-rate needs an integer from 1 to 100000/);
    expect(() => options(['--name', 'Raft Run'])).toThrow(/--name must be/);
    expect(() => options(['--name', 'raft'])).toThrow(/--name must be/);
    expect(() => options(['--kind', 'postgres', '--dtm'])).toThrow(/--dtm compares no-op participants/);
    expect(() => options(['--fast'])).toThrow(/unknown argument "--fast"/);
  });
});
