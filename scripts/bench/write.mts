// A run on a given stack, written down: <results>/<name>.json, the charts and report.md. Returns
// the last line to print. What `npm run bench` does once its stack is up, and what the smoke test
// runs on the integration suite's stack.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StackConnection } from '../stack/stack.mjs';
import type { BenchOptions } from './options.mjs';
import { lastLine, writeReport } from './report.mjs';
import { runBench } from './run.mjs';

export async function benchOnStack(
  options: BenchOptions,
  stack: StackConnection,
  say: (line: string) => void,
  stop: AbortSignal,
): Promise<string> {
  const result = await runBench(options, stack, say, stop);
  await mkdir(options.resultsDirectory, { recursive: true });
  const file = join(options.resultsDirectory, `${options.name}.json`);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  const report = await writeReport(options.resultsDirectory);
  say(`wrote ${file} and ${report}`);
  return lastLine(result);
}
