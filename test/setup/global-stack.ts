// Vitest globalSetup of the integration project: one Kafka broker and one PostgreSQL server for
// the whole run, handed to test files through provide/inject (see test/support/stack.ts).
import type { TestProject } from 'vitest/node';
import { startStack } from '../../scripts/stack/stack.mjs';
import '../support/stack.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const databaseUrl = process.env['DATABASE_URL'];
  // Throws with the paths of the logs it kept when either server fails to start.
  const stack = await startStack({
    // Every run starts from an empty server that is thrown away afterwards.
    durable: false,
    databaseUrl: databaseUrl === undefined || databaseUrl === '' ? undefined : databaseUrl,
    report: (line) => console.log(`[stack] ${line}`),
  });
  project.provide('stack', stack.connection);

  return async () => {
    const { state } = project.vitest;
    const failed = state.getCountOfFailedTests() > 0 || state.errorsSet.size > 0;
    await stack.stop({ keepLogs: failed });
    if (failed) console.log(`[stack] tests failed; server logs kept:\n  ${stack.logFiles.join('\n  ')}`);
  };
}
