import { describe, expect, it } from 'vitest';
import type { CoordinatorNode } from '../../test/support/coordinator-cluster.js';
import { parseChaosArguments } from './cli.mjs';
import { FAULT_KINDS, partitionLinks, planFaults, type ChaosOptions } from './run.mjs';

function options(argv: readonly string[]): ChaosOptions {
  const parsed = parseChaosArguments(argv);
  if (parsed === 'help') throw new Error('unexpected --help');
  return parsed;
}

function node(nodeId: string): CoordinatorNode {
  return {
    nodeId,
    httpPort: 0,
    raftPort: 0,
    url: '',
    dataDirectory: '',
    logFile: '',
    process: null,
  };
}

describe('npm run chaos', () => {
  it('defaults to 200 transfers by 4 clients with every fault', () => {
    expect(options(['--seed', '7'])).toMatchObject({
      transactions: 200,
      clients: 4,
      seed: 7,
      faults: [
        'leader-kill',
        'follower-kill',
        'two-nodes-kill',
        'leader-pause',
        'partition',
        'partition-oneway',
        'bank-kill',
        'bank-kill-after-decision',
        'kafka-restart',
        'postgres-restart',
      ],
      faultsPerKind: undefined,
      durationSeconds: 300,
      faultGapMs: [3_000, 6_000],
    });
    expect(parseChaosArguments(['--help'])).toBe('help');
  });

  it('refuses unknown faults, arguments and malformed values', () => {
    expect(() => parseChaosArguments(['--faults', 'leader-kill,disk-full'])).toThrow(/disk-full/);
    expect(() => parseChaosArguments(['--transactions', '0'])).toThrow(/positive integer/);
    expect(() => parseChaosArguments(['--faults-per-kind', '-1'])).toThrow(/positive integer/);
    expect(() => parseChaosArguments(['--fault-gap', '3'])).toThrow(/MIN-MAX/);
    expect(() => parseChaosArguments(['--fault-gap', '4-2'])).toThrow(/MIN <= MAX/);
    expect(() => parseChaosArguments(['--fast'])).toThrow(/unknown argument "--fast"/);
  });

  it('replays the same fault schedule from the same seed, and only the chosen faults', () => {
    const plan = planFaults(options(['--seed', '42']));
    expect(planFaults(options(['--seed', '42']))).toEqual(plan);
    expect(planFaults(options(['--seed', '43']))).not.toEqual(plan);
    expect(plan.length).toBeGreaterThan(30);
    expect(new Set(plan.map((fault) => fault.kind)).size).toBe(FAULT_KINDS.length);
    for (const fault of plan.filter((each) => ['leader-pause', 'partition'].includes(each.kind))) {
      // Longer than the 0.5-1 s election timeout.
      expect(fault.downMs).toBeGreaterThanOrEqual(2_000);
    }
    const pausesOnly = planFaults(options(['--seed', '42', '--faults', 'leader-pause']));
    expect(pausesOnly.every((fault) => fault.kind === 'leader-pause')).toBe(true);
  });

  it('--faults-per-kind plans exactly that many of every kind, shuffled by the seed, whatever the duration', () => {
    const soak = options(['--seed', '7', '--faults-per-kind', '50', '--fault-gap', '1-2.5']);
    expect(soak.durationSeconds).toBe(4 * 3600);
    expect(soak.faultGapMs).toEqual([1_000, 2_500]);
    const plan = planFaults(soak);
    expect(plan).toHaveLength(50 * FAULT_KINDS.length);
    for (const kind of FAULT_KINDS) expect(plan.filter((fault) => fault.kind === kind)).toHaveLength(50);
    expect(plan.map((fault) => fault.index)).toEqual(plan.map((_, position) => position + 1));
    // Shuffled: not fifty of one kind, then fifty of the next.
    expect(plan.slice(0, 50).every((fault) => fault.kind === plan[0]?.kind)).toBe(false);
    expect(planFaults({ ...soak, durationSeconds: 60 })).toEqual(plan);
    for (const fault of plan) {
      expect(fault.quietMs).toBeGreaterThanOrEqual(1_000);
      expect(fault.quietMs).toBeLessThanOrEqual(2_500);
    }
  });

  it('partitions cut the leader off both ways or one way, or a single pair or link', () => {
    const [leader, first, second] = [node('n1'), node('n2'), node('n3')];
    const followers = [first, second];
    const names = (links: readonly (readonly [CoordinatorNode, CoordinatorNode])[]): string[] =>
      links.map(([from, to]) => `${from.nodeId}->${to.nodeId}`);
    const cut = (kind: 'partition' | 'partition-oneway', variant: number, pick = 0) => {
      const { links, isolatesLeader } = partitionLinks({ kind, pick, variant }, leader, followers);
      return { links: names(links), isolatesLeader };
    };
    expect(cut('partition', 0.2)).toEqual({
      links: ['n1->n2', 'n2->n1', 'n1->n3', 'n3->n1'],
      isolatesLeader: true,
    });
    // The third pair is the two followers: the leader keeps its majority.
    expect(cut('partition', 0.7, 0.9)).toEqual({ links: ['n2->n3', 'n3->n2'], isolatesLeader: false });
    expect(cut('partition-oneway', 0.1)).toEqual({ links: ['n1->n2', 'n1->n3'], isolatesLeader: true });
    expect(cut('partition-oneway', 0.5)).toEqual({ links: ['n2->n1', 'n3->n1'], isolatesLeader: true });
    expect(cut('partition-oneway', 0.9, 0.1)).toEqual({ links: ['n1->n2'], isolatesLeader: false });
    expect(cut('partition-oneway', 0.9, 0.6)).toEqual({ links: ['n3->n1'], isolatesLeader: false });
  });
});
