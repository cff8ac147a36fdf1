import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DTM_VERSION, dtmConfig, formatDtmLevel, sagaRequest, type DtmLevel } from './dtm.mjs';
import type { LevelResult } from './run.mjs';
import { dtmComparison, sectionOf } from './report.mjs';
import type { BenchResult } from './run.mjs';

const latency = (p50Ms: number) => ({
  count: 10,
  p50Ms,
  p95Ms: p50Ms * 2,
  p99Ms: p50Ms * 3,
  maxMs: p50Ms * 4,
  meanMs: p50Ms,
});

function dtmLevel(mode: DtmLevel['mode'], clients: number, committedPerSecond: number): DtmLevel {
  return {
    mode,
    clients,
    seconds: 10,
    committed: committedPerSecond * 10,
    failed: 0,
    committedPerSecond,
    latency: latency(5),
    cpu: [
      { name: 'dtm', secondsPerTransaction: 0.002, cores: 0.5 },
      { name: 'postgres', secondsPerTransaction: 0.001, cores: 0.25 },
    ],
    machineCpuSecondsPerTransaction: 0.004,
    failures: [],
  };
}

function verdictLevel(
  clients: number,
  variant: LevelResult['variant'],
  committedPerSecond: number,
): LevelResult {
  return {
    clients,
    variant,
    seconds: 10,
    committed: committedPerSecond * 10,
    aborted: 0,
    failed: 0,
    retriedRequests: 0,
    committedPerSecond,
    commitLatency: latency(4),
    transactionLatency: latency(4),
    cpu: [],
    machineCpuSecondsPerTransaction: 0.4 / committedPerSecond,
    raftEntriesPerTransaction: null,
    coordinatorFsyncsPerTransaction: null,
    postgresWalFsyncsPerTransaction: null,
    kafkaMessagesPerTransaction: null,
    coordinatorProduceRequestsPerTransaction: null,
    stages: null,
    failures: [],
  };
}

const kafkaFloor = { latency: latency(1), roundTripsPerSecond: 1000 };

function result(dtmLevels: readonly DtmLevel[] | null): BenchResult {
  return {
    benchmark: 'verdict',
    name: 'run',
    measuredAt: '2026-12-07T00:00:00.000Z',
    machine: { cpus: 2, node: 'v24', loadAverageAtStart: [0, 0, 0], loadAverageAtEnd: [0, 0, 0] },
    options: {
      participants: 2,
      kind: 'noop',
      clients: [1, 16],
      durationSeconds: 10,
      warmupSeconds: 2,
      stackWarmupSeconds: 10,
      failover: false,
      failoverVariant: 'enlist',
      pacedRate: null,
      cpuProfile: false,
      dtm: dtmLevels !== null,
      name: 'run',
    },
    source: { commit: 'a'.repeat(40), uncommitted: [] },
    setup: 'setup',
    floors: {
      kafka: {
        outstanding: 128,
        oneAtATime: kafkaFloor,
        fanOut: { ...kafkaFloor, responders: 2 },
        batched: kafkaFloor,
        single: kafkaFloor,
      },
      fsync: { latencyMsP50: 0.3, latencyMsP99: 1, fsyncsPerSecond: 3000 },
      raftCommit: { latencyMsP50: 0.7, latencyMsP99: 2, commitsPerSecond: 1400 },
      postgres: { prepare: latency(0.5), commitPrepared: latency(0.5), pairsPerSecond: 900 },
      commitFloorMs: 3,
      commitFloorParts: { kafka: 2, raft: 1 },
      transportCeilingPerSecond: 250,
    },
    levels: [
      verdictLevel(1, 'enlist', 100),
      verdictLevel(1, 'one-request', 200),
      verdictLevel(16, 'enlist', 500),
      verdictLevel(16, 'one-request', 1000),
    ],
    best: { clients: 16, variant: 'one-request', committedPerSecond: 1000, transactionP99Ms: 12 },
    lowLoad: { clients: 1, commitP50Ms: 4, ratioToFloor: 1.33 },
    ceilingRatio: 4,
    halfLoad: null,
    failover: null,
    dtm:
      dtmLevels === null
        ? null
        : { version: 'v1.19.0', setup: 'DTM saga of 2 no-op HTTP branches', levels: dtmLevels },
    notMeasured: [],
  } as unknown as BenchResult;
}

describe('the DTM baseline', () => {
  it('builds the DTM that go.mod pins, under the name of that version', () => {
    const goMod = readFileSync(join(__dirname, 'dtm', 'go.mod'), 'utf8');
    expect(goMod).toMatch(/^tool github\.com\/dtm-labs\/dtm$/m);
    expect(goMod).toContain(`github.com/dtm-labs/dtm ${DTM_VERSION} `);
  });

  it('submits a saga of one no-op action and compensation per branch and waits for its result', () => {
    expect(sagaRequest('bench-1', ['http://127.0.0.1:1', 'http://127.0.0.1:2'])).toEqual({
      gid: 'bench-1',
      trans_type: 'saga',
      protocol: 'http',
      wait_result: true,
      steps: [
        { action: 'http://127.0.0.1:1/action', compensate: 'http://127.0.0.1:1/compensate' },
        { action: 'http://127.0.0.1:2/action', compensate: 'http://127.0.0.1:2/compensate' },
      ],
      payloads: ['{}', '{}'],
    });
  });

  it('points DTM at the database of the URL, on the given ports, durable or with its default', () => {
    const ports = { http: 4000, grpc: 4001, jsonRpc: 4002 };
    const durable = JSON.parse(
      dtmConfig('postgres://verdict:p%40ss@127.0.0.1:5433/bench_dtm_x', ports, 'durable'),
    ) as Record<string, unknown>;
    expect(durable).toEqual({
      Store: {
        Driver: 'postgres',
        Host: '127.0.0.1',
        Port: 5433,
        User: 'verdict',
        Password: 'p@ss',
        Db: 'bench_dtm_x',
        Schema: 'public',
        MaxOpenConns: 32,
        MaxIdleConns: 32,
      },
      HttpPort: 4000,
      GrpcPort: 4001,
      JsonRpcPort: 4002,
      LogLevel: 'warn',
      UpdateBranchSync: 1,
    });
    const byDefault = JSON.parse(dtmConfig('postgres://localhost/dtm', ports, 'default')) as {
      Store: { Port: number };
      UpdateBranchSync: number;
    };
    expect(byDefault.UpdateBranchSync).toBe(0);
    expect(byDefault.Store.Port).toBe(5432);
  });

  it('prints a level with its rate, latency, failures and CPU per process', () => {
    expect(formatDtmLevel({ ...dtmLevel('durable', 16, 400), failed: 2, failures: ['2x HTTP 500'] })).toBe(
      'dtm durable   16 clients: 400 tx/s, p50/p99/max 5.0/15.0/20.0 ms, failed 2; CPU ms/tx: dtm 2.00, postgres 1.00; failures: 2x HTTP 500',
    );
  });

  it("compares Verdict's one-request levels with each DTM mode, best against best and level by level", () => {
    const run = result([
      dtmLevel('durable', 1, 100),
      dtmLevel('durable', 16, 250),
      dtmLevel('default', 1, 160),
      dtmLevel('default', 16, 400),
    ]);
    expect(dtmComparison(run)).toEqual([
      "Verdict one-request against DTM saga, durable branch updates: best 1000 tx/s (16 clients) against 250 tx/s (16 clients) = 4.00x; the whole machine's CPU per transaction there 0.40 against 4.00 ms (10.00x less); per level 1: 2.00x, 16: 4.00x",
      "Verdict one-request against DTM saga, DTM's default: best 1000 tx/s (16 clients) against 400 tx/s (16 clients) = 2.50x; the whole machine's CPU per transaction there 0.40 against 4.00 ms (10.00x less); per level 1: 1.25x, 16: 2.50x",
    ]);
    const section = sectionOf(run);
    expect(section).toContain('--duration 10 --dtm`.');
    expect(section).toContain('### DTM in the same run');
    expect(section).toContain(
      '| 16 | default | 400 | 5.0 / 10.0 / 15.0 / 20.0 | 0 | 2.00 | 1.00 | 4.00 | 1000 | 2.50 |',
    );
  });

  it("sets DTM's paced levels beside Verdict's half load, at the same offered rate", () => {
    const closedLoop = result([dtmLevel('durable', 16, 250), dtmLevel('default', 16, 400)]);
    const run = {
      ...closedLoop,
      halfLoad: { ratePerSecond: 500, level: verdictLevel(16, 'one-request', 498) },
      dtm: {
        ...closedLoop.dtm!,
        halfLoad: {
          ratePerSecond: 500,
          levels: [
            { ...dtmLevel('durable', 16, 250), latency: latency(60), failed: 3 },
            dtmLevel('default', 16, 400),
          ],
        },
      },
    } as BenchResult;
    expect(dtmComparison(run).at(-1)).toBe(
      "paced at Verdict's half load, 500 tx/s offered by 16 clients: Verdict one-request 498 tx/s, p50/p99 4.0/12.0 ms, machine 0.80 ms/tx; " +
        'DTM saga, durable branch updates 250 tx/s, p50/p99 60.0/180.0 ms, machine 4.00 ms/tx; ' +
        "DTM saga, DTM's default 400 tx/s, p50/p99 5.0/15.0 ms, machine 4.00 ms/tx",
    );
    const section = sectionOf(run);
    expect(section).toContain("At one offered load, 500 tx/s paced by 16 clients (Verdict's half load):");
    expect(section).toContain(
      '| Verdict one-request (commit call) | 498 | 4.0 / 8.0 / 12.0 / 16.0 | 0 | 0.80 |',
    );
    expect(section).toContain(
      '| DTM saga, durable branch updates (submit call) | 250 | 60.0 / 120.0 / 180.0 / 240.0 | 3 | 4.00 |',
    );
    expect(sectionOf(closedLoop)).not.toContain('At one offered load');
  });

  it('adds nothing to runs without it', () => {
    const run = result(null);
    expect(dtmComparison(run)).toEqual([]);
    expect(sectionOf(run)).not.toContain('DTM');
  });
});
