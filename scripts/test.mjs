// `npm test`: every check the project has, in order, each step failing the command.
// Steps run one after another because the machine has two cores and the integration step
// starts a real Kafka broker and a real PostgreSQL server.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const reports = join(root, '.cache', 'test-reports');
mkdirSync(reports, { recursive: true });

const vitest = (project) => ({
  name: `${project} tests`,
  command: [
    'npx',
    'vitest',
    'run',
    '--project',
    project,
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${join(reports, `${project}.json`)}`,
  ],
  report: join(reports, `${project}.json`),
});

const steps = [
  { name: 'type-check', command: ['npx', 'tsc', '--noEmit', '-p', 'tsconfig.json'] },
  // The console runs in a browser (DOM types, JSX): its own tsconfig.
  { name: 'type-check console', command: ['npx', 'tsc', '--noEmit', '-p', 'apps/console/tsconfig.json'] },
  { name: 'lint', command: ['npx', 'eslint', '--max-warnings', '0', '.'] },
  { name: 'format', command: ['npx', 'prettier', '--check', '.'] },
  vitest('unit'),
  vitest('integration'),
];

// CI keeps only the tail of the output: name each failed test, and its first message line, there.
function failedTests(report) {
  const firstLine = (message) => (message ?? '').split('\n')[0].slice(0, 300);
  return report.testResults.flatMap((file) => {
    const path = file.name.slice(root.length);
    const tests = file.assertionResults.filter((test) => test.status === 'failed');
    // A hook that throws fails the file with no failed test in it.
    if (tests.length === 0 && file.status === 'failed') return [`${path}\n       ${firstLine(file.message)}`];
    return tests.map((test) => `${path} > ${test.fullName}\n       ${firstLine(test.failureMessages[0])}`);
  });
}

const only = process.argv.slice(2);
const results = [];
const failures = [];
let passed = 0;
let failed = 0;
for (const step of steps) {
  if (only.length > 0 && !only.some((name) => step.name.startsWith(name))) continue;
  console.log(`\n=== ${step.name}: ${step.command.join(' ')}`);
  const startedAt = Date.now();
  const run = spawnSync(step.command[0], step.command.slice(1), { cwd: root, stdio: 'inherit' });
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  const ok = run.status === 0;
  let counts = '';
  if (step.report && existsSync(step.report)) {
    const report = JSON.parse(readFileSync(step.report, 'utf8'));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    counts = `${report.numPassedTests} passed, ${report.numFailedTests} failed`;
    failures.push(...failedTests(report));
  }
  results.push({ name: step.name, ok, seconds, counts });
  if (!ok) break;
}

console.log('\n=== summary');
for (const result of results) {
  console.log(
    `${result.ok ? 'ok  ' : 'FAIL'} ${result.name.padEnd(18)} ${result.seconds.padStart(7)} s  ${result.counts}`,
  );
}
for (const failure of failures) console.log(`  failed: ${failure}`);
const skippedSteps = steps.length - results.length;
if (only.length === 0 && skippedSteps > 0) console.log(`${skippedSteps} later step(s) not run`);
const allOk = results.every((result) => result.ok) && (only.length > 0 || skippedSteps === 0);
if (!allOk) failed = Math.max(failed, 1);
console.log(`test: ${passed} passed, ${failed} failed`);
process.exit(allOk ? 0 : 1);
