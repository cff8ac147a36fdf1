// What the HTTP adapter costs on the commit path: the coordinator's Nest API (ApiModule: auth
// guard, validation pipe, problem filter, leader-forwarding interceptor, JSON logs) over the
// in-memory CoordinatorPort double, once on Fastify (what production runs) and once on Express,
// each in its own child process, driven by closed-loop fetch clients in this process. Every
// transaction is two requests, POST /v1/transactions and POST /v1/transactions/{id}/commit.
// Rounds alternate the adapters so a machine that slows down mid-run slows both.
//
//   npm run build && node bench/http-adapter.mts [--clients 32] [--seconds 8] [--warmup 2] [--rounds 2]
//
// It measures the HTTP layer only: no Raft, no Kafka. Express is not a runtime option.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type * as NestCommon from '@nestjs/common';
import type * as NestCore from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import type * as NestExpress from '@nestjs/platform-express';
import type * as NestFastify from '@nestjs/platform-fastify';
import type * as ApiModuleFile from '../apps/coordinator/src/api/api.module.js';
import type * as ApiKeysFile from '../apps/coordinator/src/api/auth/api-keys.js';
import type * as CoordinatorPortFile from '../apps/coordinator/src/api/coordinator.port.js';
import type * as InMemoryCoordinatorFile from '../apps/coordinator/src/api/testing/in-memory-coordinator.js';
import type * as ReadinessFile from '../apps/coordinator/src/observability/readiness.port.js';
import type * as LoggingFile from '../apps/coordinator/src/observability/logging.js';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist', 'apps', 'coordinator', 'src');
const ADAPTERS = ['fastify', 'express'] as const;
export type AdapterName = (typeof ADAPTERS)[number];
const SERVICE_KEY = 'bench-service-key-0123456789';
const BODY_LIMIT_BYTES = 1024 * 1024;

const { values } = parseArgs({
  options: {
    serve: { type: 'string' },
    clients: { type: 'string', default: '32' },
    seconds: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
  },
});

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive integer, got "${text}"`);
  return value;
}

// ---- the server: one adapter, in a child process -------------------------------------------

async function serve(adapterName: AdapterName): Promise<void> {
  const load = createRequire(import.meta.url);
  const { Module } = load('@nestjs/common') as typeof NestCommon;
  const { NestFactory } = load('@nestjs/core') as typeof NestCore;
  const { ApiModule } = load(join(dist, 'api', 'api.module.js')) as typeof ApiModuleFile;
  const { ApiKeys } = load(join(dist, 'api', 'auth', 'api-keys.js')) as typeof ApiKeysFile;
  const { COORDINATOR } = load(join(dist, 'api', 'coordinator.port.js')) as typeof CoordinatorPortFile;
  const { InMemoryCoordinator } = load(
    join(dist, 'api', 'testing', 'in-memory-coordinator.js'),
  ) as typeof InMemoryCoordinatorFile;
  const { READINESS } = load(join(dist, 'observability', 'readiness.port.js')) as typeof ReadinessFile;
  const { loggingModule, requestIdFor } = load(
    join(dist, 'observability', 'logging.js'),
  ) as typeof LoggingFile;

  // Decorators applied as functions: this file runs with types stripped, not transformed.
  class BenchHostModule {}
  Module({})(BenchHostModule);
  class BenchRootModule {}
  Module({})(BenchRootModule);
  const host = {
    module: BenchHostModule,
    providers: [
      { provide: COORDINATOR, useValue: new InMemoryCoordinator('bench-1') },
      {
        provide: READINESS,
        useValue: {
          readiness: () =>
            Promise.resolve({ leaderId: 'bench-1', caughtUp: true, commitIndex: 0, appliedIndex: 0 }),
        },
      },
    ],
    exports: [COORDINATOR, READINESS],
  };
  // Logs are produced as in production (one JSON line per request) and then dropped.
  const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const rootModule = {
    module: BenchRootModule,
    imports: [
      loggingModule({ level: 'info', nodeId: 'bench-1', destination: sink }),
      ApiModule.register(host, ApiKeys.parse(`${SERVICE_KEY}:service`), {
        nodeId: 'bench-1',
        bodyLimitBytes: BODY_LIMIT_BYTES,
        forwardTimeoutMs: 5_000,
      }),
    ],
  };
  let app: INestApplication;
  if (adapterName === 'fastify') {
    const { FastifyAdapter } = load('@nestjs/platform-fastify') as typeof NestFastify;
    // The same adapter settings as createHttpApp (api/http-app.ts).
    const adapter = new FastifyAdapter({
      bodyLimit: BODY_LIMIT_BYTES,
      genReqId: requestIdFor,
      logger: false,
    });
    app = await NestFactory.create(rootModule, adapter, { bodyParser: false, logger: false });
  } else {
    const { ExpressAdapter } = load('@nestjs/platform-express') as typeof NestExpress;
    app = await NestFactory.create(rootModule, new ExpressAdapter(), { bodyParser: true, logger: false });
  }
  await app.listen(0, '127.0.0.1');
  const address = (app.getHttpServer() as { address(): { port: number } }).address();
  process.stdout.write(`listening ${address.port}\n`);
  process.on('SIGTERM', () => {
    void app.close().then(() => process.exit(0));
  });
}

// ---- the clients: closed loops in this process ---------------------------------------------

interface RoundResult {
  readonly adapter: AdapterName;
  readonly requests: number;
  readonly transactions: number;
  readonly seconds: number;
  readonly beginMs: number[];
  readonly commitMs: number[];
  readonly errors: number;
  /** CPU time the server process spent in the measured window (user + system). */
  readonly serverCpuMs: number;
}

/**
 * User + system CPU of a process so far, from /proc (clock ticks of 10 ms). CPU per transaction
 * holds still when other work on the machine steals the cores; throughput and latency do not.
 */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5) (utime, stime) are the 12th and 13th after the command name.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function startServer(adapter: AdapterName): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [...process.execArgv, import.meta.filename, '--serve', adapter], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening (\d+)/.exec(output);
      if (match?.[1] !== undefined) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`${adapter} server exited with ${code} before listening`)));
  });
  return { child, port };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

async function drive(
  pid: number,
  port: number,
  clients: number,
  warmupMs: number,
  measureMs: number,
): Promise<Omit<RoundResult, 'adapter'>> {
  const base = `http://127.0.0.1:${port}/v1/transactions`;
  const headers = { authorization: `Bearer ${SERVICE_KEY}`, 'content-type': 'application/json' };
  const body = JSON.stringify({ participants: [{ name: 'bank-a' }, { name: 'bank-b' }] });
  const startedAt = performance.now();
  const measureFrom = startedAt + warmupMs;
  const endAt = measureFrom + measureMs;
  const beginMs: number[] = [];
  const commitMs: number[] = [];
  let errors = 0;
  let cpuAtStartMs = 0;
  const cpuStart = setTimeout(() => (cpuAtStartMs = cpuMsOf(pid)), warmupMs);
  const loop = async (): Promise<void> => {
    while (performance.now() < endAt) {
      const beginAt = performance.now();
      const begun = await fetch(base, { method: 'POST', headers, body });
      const tx = (await begun.json()) as { id?: string };
      const commitAt = performance.now();
      if (begun.status !== 201 || tx.id === undefined) {
        errors += 1;
        continue;
      }
      const committed = await fetch(`${base}/${tx.id}/commit`, { method: 'POST', headers, body: '{}' });
      await committed.arrayBuffer();
      const doneAt = performance.now();
      if (committed.status !== 200) errors += 1;
      if (beginAt >= measureFrom && doneAt <= endAt) {
        beginMs.push(commitAt - beginAt);
        commitMs.push(doneAt - commitAt);
      }
    }
  };
  const cpuEnd = new Promise<number>((resolve) =>
    setTimeout(() => resolve(cpuMsOf(pid)), warmupMs + measureMs),
  );
  await Promise.all(Array.from({ length: clients }, loop));
  clearTimeout(cpuStart);
  const serverCpuMs = (await cpuEnd) - cpuAtStartMs;
  const seconds = measureMs / 1000;
  return {
    requests: beginMs.length + commitMs.length,
    transactions: commitMs.length,
    seconds,
    beginMs,
    commitMs,
    errors,
    serverCpuMs,
  };
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
}

interface Summary {
  readonly requestsPerSecond: number;
  readonly transactionsPerSecond: number;
  readonly commitP50Ms: number;
  readonly commitP99Ms: number;
  readonly beginP50Ms: number;
  readonly beginP99Ms: number;
  readonly errors: number;
  /** Server CPU per transaction (two requests), milliseconds. */
  readonly cpuMsPerTransaction: number;
}

function summarise(results: readonly RoundResult[]): Summary {
  const seconds = results.reduce((sum, result) => sum + result.seconds, 0);
  const commit = results.flatMap((result) => result.commitMs).sort((a, b) => a - b);
  const begin = results.flatMap((result) => result.beginMs).sort((a, b) => a - b);
  return {
    requestsPerSecond: results.reduce((sum, result) => sum + result.requests, 0) / seconds,
    transactionsPerSecond: results.reduce((sum, result) => sum + result.transactions, 0) / seconds,
    commitP50Ms: percentile(commit, 0.5),
    commitP99Ms: percentile(commit, 0.99),
    beginP50Ms: percentile(begin, 0.5),
    beginP99Ms: percentile(begin, 0.99),
    errors: results.reduce((sum, result) => sum + result.errors, 0),
    cpuMsPerTransaction:
      results.reduce((sum, result) => sum + result.serverCpuMs, 0) /
      results.reduce((sum, result) => sum + result.transactions, 0),
  };
}

async function main(): Promise<void> {
  if (!existsSync(join(dist, 'api', 'testing', 'in-memory-coordinator.js'))) {
    throw new Error(`${dist} has no build of the coordinator; run npm run build first`);
  }
  const clients = positiveInteger('clients', values.clients);
  const seconds = positiveInteger('seconds', values.seconds);
  const warmup = positiveInteger('warmup', values.warmup);
  const rounds = positiveInteger('rounds', values.rounds);
  console.log(
    `http-adapter: ${clients} closed-loop clients, ${rounds} round(s) of ${warmup} s warm-up + ${seconds} s per adapter, ` +
      `node ${process.version}, ${availableParallelism()} cores`,
  );
  const results: RoundResult[] = [];
  for (let round = 0; round < rounds; round += 1) {
    // Alternate which adapter goes first, so neither always runs on a warmer or cooler machine.
    const order = round % 2 === 0 ? ADAPTERS : [...ADAPTERS].reverse();
    for (const adapter of order) {
      const { child, port } = await startServer(adapter);
      try {
        const pid = child.pid;
        if (pid === undefined) throw new Error(`${adapter} server has no pid`);
        const result = { adapter, ...(await drive(pid, port, clients, warmup * 1000, seconds * 1000)) };
        results.push(result);
        console.log(
          `  round ${round + 1} ${adapter.padEnd(7)} ${(result.requests / result.seconds).toFixed(0)} requests/s, ` +
            `${(result.transactions / result.seconds).toFixed(0)} transactions/s, ` +
            `${(result.serverCpuMs / Math.max(1, result.transactions)).toFixed(2)} server CPU ms/transaction, ${result.errors} errors`,
        );
      } finally {
        await stopServer(child);
      }
    }
  }
  const fastify = summarise(results.filter((result) => result.adapter === 'fastify'));
  const express = summarise(results.filter((result) => result.adapter === 'express'));
  const row = (name: string, summary: Summary): string =>
    `| ${name} | ${summary.requestsPerSecond.toFixed(0)} | ${summary.transactionsPerSecond.toFixed(0)} | ` +
    `${summary.commitP50Ms.toFixed(2)} | ${summary.commitP99Ms.toFixed(2)} | ${summary.beginP50Ms.toFixed(2)} | ` +
    `${summary.beginP99Ms.toFixed(2)} | ${summary.cpuMsPerTransaction.toFixed(2)} | ${summary.errors} |`;
  console.log(
    '| adapter | requests/s | transactions/s | commit p50 ms | commit p99 ms | begin p50 ms | begin p99 ms | server CPU ms/tx | errors |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  console.log(row('fastify', fastify));
  console.log(row('express', express));
  console.log(
    `http-adapter: fastify ${(fastify.requestsPerSecond / express.requestsPerSecond).toFixed(2)}× express requests/s, ` +
      `commit p50 ${(express.commitP50Ms / fastify.commitP50Ms).toFixed(2)}× lower, p99 ${(express.commitP99Ms / fastify.commitP99Ms).toFixed(2)}× lower, ` +
      `server CPU per transaction ${(express.cpuMsPerTransaction / fastify.cpuMsPerTransaction).toFixed(2)}× lower`,
  );
}

const served = values.serve;
if (served !== undefined) {
  if (!ADAPTERS.includes(served as AdapterName)) {
    console.error(`--serve must be one of ${ADAPTERS.join(', ')}, got "${served}"`);
    process.exit(2);
  }
  await serve(served as AdapterName);
} else {
  await main().catch((error: unknown) => {
    console.error(`http-adapter: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
