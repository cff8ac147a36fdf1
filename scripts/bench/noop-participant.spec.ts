import { describe, expect, it } from 'vitest';
import { parseBenchArguments } from './options.mjs';
import { noopService } from './noop-participant.mjs';
import { USAGE } from './cli.mjs';

describe('the no-op participant', () => {
  it('votes YES at once, acknowledges both outcomes and never holds anything in doubt', async () => {
    const request = {
      txId: '0190d7a8-0000-7000-8000-000000000001',
      work: undefined,
      deadline: new Date(),
      participants: ['bench-p1'],
      signal: new AbortController().signal,
    };
    await expect(noopService.prepare(request)).resolves.toEqual({ vote: 'YES' });
    await expect(noopService.commit({ txId: request.txId, outcome: 'COMMIT' })).resolves.toBeUndefined();
    await expect(noopService.abort({ txId: request.txId, outcome: 'ABORT' })).resolves.toBeUndefined();
    await expect(noopService.inDoubt()).resolves.toEqual([]);
  });
});

describe('npm run bench -- --help', () => {
  it('names every option the parser reads', () => {
    for (const flag of [
      '--participants',
      '--kind',
      '--clients',
      '--duration',
      '--warmup',
      '--failover',
      '--cpu-prof',
      '--name',
      '--results',
    ]) {
      expect(USAGE).toContain(flag);
      expect(parseBenchArguments(['--help'])).toBe('help');
    }
  });
});
