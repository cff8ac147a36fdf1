import { describe, expect, it } from 'vitest';
import { parseChaosArguments } from './cli.mjs';
import { planFaults, type ChaosOptions } from './run.mjs';

function options(argv: readonly string[]): ChaosOptions {
  const parsed = parseChaosArguments(argv);
  if (parsed === 'help') throw new Error('unexpected --help');
  return parsed;
}

describe('npm run chaos', () => {
  it('defaults to 200 transfers by 4 clients with every fault', () => {
    expect(options(['--seed', '7'])).toMatchObject({
      transactions: 200,
      clients: 4,
      seed: 7,
      faults: ['leader-kill', 'follower-kill', 'leader-pause', 'bank-kill'],
      durationSeconds: 300,
    });
    expect(parseChaosArguments(['--help'])).toBe('help');
  });

  it('refuses unknown faults and arguments', () => {
    expect(() => parseChaosArguments(['--faults', 'leader-kill,disk-full'])).toThrow(/disk-full/);
    expect(() => parseChaosArguments(['--transactions', '0'])).toThrow(/positive integer/);
    expect(() => parseChaosArguments(['--fast'])).toThrow(/unknown argument "--fast"/);
  });

  it('replays the same fault schedule from the same seed, and only the chosen faults', () => {
    const plan = planFaults(options(['--seed', '42']));
    expect(planFaults(options(['--seed', '42']))).toEqual(plan);
    expect(planFaults(options(['--seed', '43']))).not.toEqual(plan);
    expect(plan.length).toBeGreaterThan(40);
    expect(new Set(plan.map((fault) => fault.kind)).size).toBe(4);
    for (const fault of plan.filter((each) => each.kind === 'leader-pause')) {
      // Longer than the ~1.5 s election timeout.
      expect(fault.downMs).toBeGreaterThanOrEqual(2_000);
    }
    const pausesOnly = planFaults(options(['--seed', '42', '--faults', 'leader-pause']));
    expect(pausesOnly.every((fault) => fault.kind === 'leader-pause')).toBe(true);
  });
});
