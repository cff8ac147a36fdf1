// Schemathesis (a Python program) for the REST fuzzing of the coordinator: installed on demand
// into a virtual environment inside the clone, then run against a served OpenAPI document.
// Shared by `npm run fuzz:rest` (scripts/fuzz-rest/cli.mts) and
// test/integration/schemathesis.test.ts.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { METADATA_KEY_PATTERN } from '../apps/coordinator/src/api/dto/string-map.validator.js';

export const SCHEMATHESIS_VERSION = '4.32.5';

/** Git-ignored, like the Kafka jars: a fresh clone installs once, later runs reuse it. */
export const SCHEMATHESIS_CACHE_DIRECTORY = fileURLToPath(new URL('../.cache/schemathesis', import.meta.url));
const PIP_TIMEOUT_MS = 10 * 60_000;
/** Settings of every run (checks per operation, no cache); the command line adds the rest. */
const CONFIG_FILE = fileURLToPath(new URL('./schemathesis.toml', import.meta.url));
/**
 * Prepare deadline of the transactions a valid begin asks for: their participants never vote, so
 * each commit answers at the deadline (see the hooks file).
 */
const BEGIN_TIMEOUT_MS_MAX = 2_000;
/** Keeps positive test cases within rules OpenAPI 3.0 cannot state; see the file. */
const HOOKS_FILE = fileURLToPath(new URL('./schemathesis-hooks.py', import.meta.url));

/**
 * The Python of a virtual environment holding schemathesis `SCHEMATHESIS_VERSION`, created and
 * filled with pip on the first call. The environment is built in a folder of its own and renamed
 * into place only when pip succeeded, so a broken install is never reused and two processes
 * installing at once do not mix files: the second rename loses and its folder is deleted. The
 * moved environment's console scripts name the old path, so schemathesis is always run as
 * `python -m schemathesis.cli`, which does not depend on them.
 */
export function ensureSchemathesis(report: (line: string) => void): string {
  const environment = join(SCHEMATHESIS_CACHE_DIRECTORY, SCHEMATHESIS_VERSION);
  const python = join(environment, 'bin', 'python');
  if (existsSync(python) && installedVersion(python) === SCHEMATHESIS_VERSION) return python;
  const python3 = process.env['PYTHON'] ?? 'python3';
  mkdirSync(SCHEMATHESIS_CACHE_DIRECTORY, { recursive: true });
  const building = join(SCHEMATHESIS_CACHE_DIRECTORY, `.building-${process.pid}`);
  rmSync(building, { recursive: true, force: true });
  report(`installing schemathesis ${SCHEMATHESIS_VERSION} into ${environment} (once)`);
  try {
    run(python3, ['-m', 'venv', building], 'create a Python virtual environment (is python3 installed?)');
    run(
      join(building, 'bin', 'python'),
      [
        '-m',
        'pip',
        'install',
        '--quiet',
        '--disable-pip-version-check',
        `schemathesis==${SCHEMATHESIS_VERSION}`,
      ],
      `pip install schemathesis==${SCHEMATHESIS_VERSION}`,
    );
    rmSync(environment, { recursive: true, force: true });
    try {
      renameSync(building, environment);
    } catch (error) {
      // Another process renamed its own environment into place first; that one is as good.
      if (installedVersion(python) !== SCHEMATHESIS_VERSION) throw error;
    }
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  const version = installedVersion(python);
  if (version !== SCHEMATHESIS_VERSION) {
    throw new Error(
      `schemathesis ${SCHEMATHESIS_VERSION} is not importable from ${python} (found ${version})`,
    );
  }
  return python;
}

function installedVersion(python: string): string | null {
  const probe = spawnSync(
    python,
    ['-c', 'import importlib.metadata as m; print(m.version("schemathesis"))'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return probe.status === 0 ? probe.stdout.trim() : null;
}

function run(command: string, args: readonly string[], what: string): void {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: PIP_TIMEOUT_MS });
  if (result.error !== undefined || result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-20).join('\n');
    throw new Error(
      `could not ${what}: ${result.error?.message ?? `exit code ${String(result.status)}`}\n${output}`,
    );
  }
}

export interface SchemathesisOptions {
  /** Where the OpenAPI document is served, e.g. http://127.0.0.1:8080/openapi.json. */
  readonly schemaUrl: string;
  /** Sent with every request: `Authorization: Bearer <apiKey>`. */
  readonly apiKey: string;
  /** Test cases per operation and phase (`--max-examples`). */
  readonly maxExamples: number;
  readonly phases: readonly ('examples' | 'coverage' | 'fuzzing' | 'stateful')[];
  readonly seed: number;
  readonly workers: number;
  /** Operations left out, as `--exclude-path-regex` patterns joined with `|`. */
  readonly excludePaths?: readonly string[];
  /** Only these operations, as `--include-path-regex` patterns joined with `|`. */
  readonly includePaths?: readonly string[];
  /** Checks left out (`--exclude-checks`); every other check runs. */
  readonly excludeChecks?: readonly string[];
  /** Reports (JUnit XML, NDJSON events) go here. */
  readonly reportDirectory: string;
  /** Stops the run early; its reports stay as they are. */
  readonly signal?: AbortSignal;
  /** Each line schemathesis prints. */
  readonly output: (line: string) => void;
}

export interface SchemathesisResult {
  readonly exitCode: number | null;
  /** From the JUnit report: one test case per operation and phase. */
  readonly junit: JunitSummary;
  /** From the NDJSON events: the requests schemathesis sent and what they were answered. */
  readonly requests: RequestCounts;
  /** schemathesis' own closing summary, as printed. */
  readonly summary: string;
  readonly junitPath: string;
}

export interface JunitSummary {
  readonly tests: number;
  readonly failures: number;
  readonly errors: number;
  readonly skipped: number;
  /** Names and messages of failed or errored test cases. */
  readonly problems: readonly string[];
}

/** Runs `st run` with every check; resolves once schemathesis exited. */
export async function runSchemathesis(
  python: string,
  options: SchemathesisOptions,
): Promise<SchemathesisResult> {
  mkdirSync(options.reportDirectory, { recursive: true });
  const junitPath = join(options.reportDirectory, 'junit.xml');
  const ndjsonPath = join(options.reportDirectory, 'events.ndjson');
  const args = [
    '-m',
    'schemathesis.cli',
    '--config-file',
    CONFIG_FILE,
    'run',
    options.schemaUrl,
    '--header',
    `Authorization: Bearer ${options.apiKey}`,
    '--checks',
    'all',
    ...(options.excludeChecks?.length ? ['--exclude-checks', options.excludeChecks.join(',')] : []),
    ...(options.excludePaths?.length ? ['--exclude-path-regex', options.excludePaths.join('|')] : []),
    ...(options.includePaths?.length ? ['--include-path-regex', options.includePaths.join('|')] : []),
    '--phases',
    options.phases.join(','),
    '--max-examples',
    String(options.maxExamples),
    '--seed',
    String(options.seed),
    '--workers',
    String(options.workers),
    '--generation-database',
    'none',
    '--request-timeout',
    '30',
    '--report',
    'junit,ndjson',
    '--report-junit-path',
    junitPath,
    '--report-ndjson-path',
    ndjsonPath,
    '--no-color',
  ];
  const lines: string[] = [];
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(python, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Fixed width: schemathesis fits its tables to the terminal, and there is none here.
      env: {
        ...process.env,
        COLUMNS: '120',
        PYTHONUNBUFFERED: '1',
        SCHEMATHESIS_HOOKS: HOOKS_FILE,
        VERDICT_METADATA_KEY_PATTERN: METADATA_KEY_PATTERN.source,
        VERDICT_BEGIN_TIMEOUT_MS_MAX: String(BEGIN_TIMEOUT_MS_MAX),
      },
      // Schemathesis keeps a folder of its own in the working directory.
      cwd: options.reportDirectory,
    });
    const onAbort = (): void => {
      child.kill('SIGINT');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let pending = '';
    const onData = (chunk: string): void => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        options.output(line);
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.once('error', reject);
    child.once('close', (code) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (pending !== '') onData('\n');
      resolve(code);
    });
  });
  return {
    exitCode,
    junit: existsSync(junitPath)
      ? summarizeJunit(readFileSync(junitPath, 'utf8'))
      : { tests: 0, failures: 0, errors: 0, skipped: 0, problems: ['no JUnit report was written'] },
    requests: existsSync(ndjsonPath)
      ? countRequests(readFileSync(ndjsonPath, 'utf8'))
      : { byPhase: {}, byOperation: {}, noLeader: {} },
    summary: closingSummary(lines),
    junitPath,
  };
}

/** Totals of a JUnit XML report, read from its `testcase` elements. */
export function summarizeJunit(xml: string): JunitSummary {
  let tests = 0;
  let failures = 0;
  let errors = 0;
  let skipped = 0;
  const problems: string[] = [];
  for (const match of xml.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    tests += 1;
    const name = /\bname="([^"]*)"/.exec(match[1] ?? '')?.[1] ?? '(unnamed)';
    const body = match[2] ?? '';
    const failure = /<(failure|error)\b[^>]*?(?:message="([^"]*)")?[^>]*?(?:\/>|>([\s\S]*?)<\/\1>)/.exec(
      body,
    );
    if (failure !== null) {
      if (failure[1] === 'failure') failures += 1;
      else errors += 1;
      const text = unescapeXml(failure[3] ?? failure[2] ?? '').trim();
      problems.push(`${unescapeXml(name)}: ${text.split('\n').slice(0, 12).join('\n')}`);
    } else if (/<skipped\b/.test(body)) skipped += 1;
  }
  return { tests, failures, errors, skipped, problems };
}

function unescapeXml(text: string): string {
  return text
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&');
}

export interface RequestCounts {
  /** Requests sent in each phase (examples, coverage, fuzzing, stateful). */
  readonly byPhase: Readonly<Record<string, number>>;
  /** Responses by operation (`POST /v1/transactions`) and status code. */
  readonly byOperation: Readonly<Record<string, Readonly<Record<number, number>>>>;
  /** 503 NO_LEADER answers (the cluster was electing a leader), by operation; also in byOperation. */
  readonly noLeader: Readonly<Record<string, number>>;
}

interface ScenarioFinished {
  readonly phase?: string;
  readonly recorder?: {
    readonly cases?: Record<
      string,
      { readonly value?: { readonly method?: string; readonly path?: string } }
    >;
    readonly interactions?: Record<
      string,
      {
        readonly response?: {
          readonly status_code?: number;
          readonly content?: { readonly $base64?: string };
        } | null;
      }
    >;
  };
}

/** Every request schemathesis sent, from the NDJSON event stream's finished scenarios. */
export function countRequests(ndjson: string): RequestCounts {
  const byPhase: Record<string, number> = {};
  const byOperation: Record<string, Record<number, number>> = {};
  const noLeader: Record<string, number> = {};
  for (const line of ndjson.split('\n')) {
    if (line.trim() === '') continue;
    const finished = (JSON.parse(line) as { ScenarioFinished?: ScenarioFinished }).ScenarioFinished;
    if (finished === undefined) continue;
    const phase = finished.phase ?? 'unknown';
    for (const [id, interaction] of Object.entries(finished.recorder?.interactions ?? {})) {
      byPhase[phase] = (byPhase[phase] ?? 0) + 1;
      const request = finished.recorder?.cases?.[id]?.value;
      const operation = `${request?.method ?? '?'} ${request?.path ?? '?'}`;
      const status = interaction.response?.status_code ?? 0;
      const statuses = (byOperation[operation] ??= {});
      statuses[status] = (statuses[status] ?? 0) + 1;
      const content = interaction.response?.content?.$base64;
      if (status === 503 && content !== undefined && isNoLeader(content)) {
        noLeader[operation] = (noLeader[operation] ?? 0) + 1;
      }
    }
  }
  return { byPhase, byOperation, noLeader };
}

function isNoLeader(base64: string): boolean {
  try {
    return (
      (JSON.parse(Buffer.from(base64, 'base64').toString('utf8')) as { code?: unknown }).code === 'NO_LEADER'
    );
  } catch {
    return false;
  }
}

/** The block schemathesis prints last (from its "SUMMARY" rule on). */
function closingSummary(lines: readonly string[]): string {
  const start = lines.findLastIndex((line) => /SUMMARY/.test(line));
  return (start === -1 ? lines.slice(-30) : lines.slice(start)).join('\n').trim();
}
