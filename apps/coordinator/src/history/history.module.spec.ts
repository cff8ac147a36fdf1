import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { Archiver } from './archiver';
import { finishedTransaction } from './finished-transaction.fixture';
import { HistoryDatabase } from './history-database';
import { HISTORY_STORE, HistoryUnavailableError, type HistoryStore } from './history-store';
import { HistoryModule } from './history.module';

describe('HistoryModule', () => {
  it('starts while its database is down: reads fail as unavailable, the archiver keeps retrying', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        HistoryModule.forRoot({
          database: {
            // Port 1: nothing listens, the connection is refused at once.
            url: 'postgres://verdict:verdict@127.0.0.1:1/verdict',
            poolSize: 2,
            connectTimeoutMs: 500,
            statementTimeoutMs: 5_000,
            reconnectDelayMs: 50,
            reconnectDelayMsMax: 100,
            applicationName: 'verdict-history-module-test',
          },
          archiver: { capacity: 10, batchSizeMax: 5, lingerMs: 0, retryDelayMs: 50, retryDelayMsMax: 100 },
        }),
      ],
    }).compile();
    await moduleRef.init();
    try {
      const store = moduleRef.get<HistoryStore>(HISTORY_STORE);
      const archiver = moduleRef.get(Archiver);
      expect(moduleRef.get(HistoryDatabase).isConnected()).toBe(false);
      await expect(store.outcomeOf('0190a6f4-0000-7000-8000-000000000000')).rejects.toBeInstanceOf(
        HistoryUnavailableError,
      );
      expect(archiver.offer(finishedTransaction())).toBe('queued');
      const deadline = Date.now() + 5_000;
      while (archiver.backlog().consecutiveFailures < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(archiver.backlog()).toMatchObject({
        queued: 1,
        consecutiveFailures: expect.any(Number) as unknown,
      });
      expect(archiver.backlog().consecutiveFailures).toBeGreaterThanOrEqual(2);
    } finally {
      await moduleRef.close();
    }
  });
});
