// A run on a given stack, written down: <results>/<name>.json, the charts and report.md. Returns
// the last line to print. What `npm run bench` does once its stack is up, and what the smoke test
// runs on the integration suite's stack.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StackConnection } from '../stack/stack.mjs';
import type { BenchOptions } from './options.mjs';
import { hottestFunctions, type CpuProfile } from './profile.mjs';
import { dtmComparison, lastLine, writeReport } from './report.mjs';
import { buildDtm, DtmBaselineRun } from './dtm.mjs';
import { runBench, type BenchResult } from './run.mjs';

const PROFILE_LINES = 25;

export async function benchOnStack(
  options: BenchOptions,
  stack: StackConnection,
  say: (line: string) => void,
  stop: AbortSignal,
): Promise<string> {
  const startedMs = Date.now();
  // First: with --cpu-prof the coordinators write their profiles there as they stop.
  await mkdir(options.resultsDirectory, { recursive: true });
  const dtm = options.dtm
    ? await DtmBaselineRun.start(buildDtm(say), options, stack, Date.now().toString(36), say, stop)
    : null;
  let verdict: BenchResult;
  try {
    verdict = await runBench(
      options,
      stack,
      say,
      stop,
      (clients, ratePerSecond) => dtm?.measure(clients, ratePerSecond) ?? Promise.resolve(),
    );
  } finally {
    await dtm?.stop();
  }
  const result = dtm === null ? verdict : { ...verdict, dtm: dtm.result() };
  const file = join(options.resultsDirectory, `${options.name}.json`);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  const report = await writeReport(options.resultsDirectory);
  if (options.cpuProfile) {
    // Node names them CPU.<date>.<time>.<pid>…: this run's are the ones written since it started.
    const profiles = (await readdir(options.resultsDirectory)).filter((name) => name.endsWith('.cpuprofile'));
    for (const file of profiles) {
      if ((await stat(join(options.resultsDirectory, file))).mtimeMs < startedMs) continue;
      const profile = JSON.parse(await readFile(join(options.resultsDirectory, file), 'utf8')) as CpuProfile;
      say(`hottest functions in ${file} (self time, share of all samples):`);
      for (const hot of hottestFunctions(profile, PROFILE_LINES))
        say(`  ${(hot.share * 100).toFixed(1)}% ${hot.where}`);
    }
  }
  if (result.dtm) for (const line of dtmComparison(result)) say(line);
  say(`wrote ${file} and ${report}`);
  return lastLine(result);
}
