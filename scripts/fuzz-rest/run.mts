// What a REST fuzzing run does against a running coordinator cluster: two schemathesis runs
// against one node's /openapi.json, every check on. Shared by `npm run fuzz:rest`
// (scripts/fuzz-rest/cli.mts) and test/integration/schemathesis.test.ts.
import { join } from 'node:path';
import {
  ensureSchemathesis,
  runSchemathesis,
  type SchemathesisOptions,
  type SchemathesisResult,
} from '../schemathesis.mjs';

/**
 * The operations that change the cluster itself. With an operator key they would add voting
 * members that do not exist (after a few the cluster has no majority and answers every write
 * with 503), remove real nodes, or move leadership in a loop (each move is a documented 503
 * with Retry-After while the new leader catches up). So they are fuzzed with a service key
 * only, which must answer 403 however the request looks; test/integration/coordinator-membership.test.ts
 * and coordinator-cluster.test.ts exercise them with real changes.
 */
export const CLUSTER_CHANGING_PATHS = ['^/v1/cluster/members', '^/v1/cluster/leadership-transfer$'];

export interface FuzzRestOptions {
  /** Base URL of the node to fuzz, e.g. http://127.0.0.1:8080. */
  readonly baseUrl: string;
  readonly operatorKey: string;
  readonly serviceKey: string;
  readonly maxExamples: number;
  readonly seed: number;
  readonly workers: number;
  readonly reportDirectory: string;
  readonly signal?: AbortSignal;
  readonly output: (line: string) => void;
}

export interface FuzzRestRun {
  readonly name: string;
  readonly result: SchemathesisResult;
}

export interface FuzzRestResult {
  readonly runs: readonly FuzzRestRun[];
  /** Requests sent over both runs. */
  readonly requests: number;
  readonly failed: boolean;
  readonly summary: readonly string[];
}

export async function fuzzRest(options: FuzzRestOptions): Promise<FuzzRestResult> {
  const python = ensureSchemathesis(options.output);
  const common: Omit<SchemathesisOptions, 'apiKey' | 'reportDirectory'> = {
    schemaUrl: `${options.baseUrl}/openapi.json`,
    maxExamples: options.maxExamples,
    phases: ['examples', 'coverage', 'fuzzing', 'stateful'],
    seed: options.seed,
    workers: options.workers,
    output: options.output,
    ...(options.signal !== undefined && { signal: options.signal }),
  };
  const plans: { name: string; options: SchemathesisOptions }[] = [
    {
      name: 'operator key, every operation but the cluster-changing ones',
      options: {
        ...common,
        apiKey: options.operatorKey,
        excludePaths: CLUSTER_CHANGING_PATHS,
        reportDirectory: join(options.reportDirectory, 'operator'),
      },
    },
    {
      name: 'service key, the cluster-changing operations (403 whatever the request)',
      options: {
        ...common,
        apiKey: options.serviceKey,
        includePaths: CLUSTER_CHANGING_PATHS,
        reportDirectory: join(options.reportDirectory, 'service'),
      },
    },
  ];
  const runs: FuzzRestRun[] = [];
  for (const plan of plans) {
    if (options.signal?.aborted === true) break;
    options.output(`--- schemathesis: ${plan.name}`);
    runs.push({ name: plan.name, result: await runSchemathesis(python, plan.options) });
  }
  let requests = 0;
  const summary: string[] = [];
  for (const { name, result } of runs) {
    const sent = Object.values(result.requests.byPhase).reduce((sum, count) => sum + count, 0);
    requests += sent;
    const phases = Object.entries(result.requests.byPhase)
      .map(([phase, count]) => `${phase} ${count}`)
      .join(', ');
    summary.push(
      `${name}: exit ${String(result.exitCode)}, ${sent} requests (${phases}), ${result.junit.tests} test cases, ${result.junit.failures} failures, ${result.junit.errors} errors`,
      ...result.junit.problems.map((problem) => `  ${problem.replaceAll('\n', '\n    ')}`),
    );
  }
  // Counted here too, from every response received, not only from schemathesis' verdict.
  const serverErrors = serverErrorsOf(runs);
  if (serverErrors.length > 0) summary.push(`5xx responses: ${serverErrors.join(', ')}`);
  const elections = noLeaderOf(runs);
  if (elections.length > 0) {
    summary.push(
      `503 NO_LEADER while the cluster elected a leader (documented, with Retry-After; not counted as failures): ${elections.join(', ')}`,
    );
  }
  const failed =
    runs.length < plans.length ||
    serverErrors.length > 0 ||
    runs.some(({ result }) => result.exitCode !== 0 || result.junit.failures > 0 || result.junit.errors > 0);
  summary.push(`fuzz:rest: ${requests} requests, ${failed ? 'FAILED' : 'no failures'}`);
  return { runs, requests, failed, summary };
}

/**
 * `POST /v1/transactions: 1 × 500` for every operation that answered a 5xx, but for 503 NO_LEADER:
 * the documented answer while the cluster elects a leader (scripts/schemathesis-hooks.py says why).
 */
export function serverErrorsOf(runs: readonly FuzzRestRun[]): string[] {
  return runs.flatMap(({ result }) =>
    Object.entries(result.requests.byOperation).flatMap(([operation, statuses]) =>
      Object.entries(statuses)
        .map(([status, count]): [number, number] => [
          Number(status),
          Number(status) === 503 ? count - (result.requests.noLeader[operation] ?? 0) : count,
        ])
        .filter(([status, count]) => status >= 500 && count > 0)
        .map(([status, count]) => `${operation}: ${count} × ${status}`),
    ),
  );
}

/** `POST /v1/transactions: 2` for every operation that answered 503 NO_LEADER. */
export function noLeaderOf(runs: readonly FuzzRestRun[]): string[] {
  return runs.flatMap(({ result }) =>
    Object.entries(result.requests.noLeader).map(([operation, count]) => `${operation}: ${count}`),
  );
}
