// bench/results/report.md and its SVG charts, rebuilt from every <name>.json in the results folder
// so that the report always shows the runs that are there (e.g. noop-2p and postgres-2p).
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DtmHalfLoad, DtmLevel, DtmMode } from './dtm.mjs';
import type { KafkaFloors } from './kafka-floor.mjs';
import type { Variant } from './load.mjs';
import type { BenchResult, LevelResult } from './run.mjs';
import { STAGES } from './stages.mjs';
import { renderLineChart, type Series } from './svg.mjs';

/** Files in the results folder that are not runs of this benchmark. */
const NOT_RUNS = new Set(['raft.json']);

const fixed = (value: number | null | undefined, digits = 1): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);

/** The line `npm run bench` ends with. */
export function lastLine(result: BenchResult): string {
  return (
    `bench: ${Math.round(result.best.committedPerSecond)} tx/s at ${result.best.clients} clients, ` +
    `p99 ${fixed(result.best.transactionP99Ms)} ms, ${fixed(result.lowLoad.ratioToFloor, 2)}x the latency floor`
  );
}

const VARIANT_NAMES: Record<Variant, string> = {
  enlist: 'begin+enlist+commit',
  'at-begin': 'participants at begin',
  'one-request': 'begin with commit, one request',
};

function levelSeries(
  levels: readonly LevelResult[],
  pick: (level: LevelResult) => number | null | undefined,
): Series[] {
  return (Object.keys(VARIANT_NAMES) as Variant[]).map((variant) => ({
    name: VARIANT_NAMES[variant],
    points: levels
      .filter((level) => level.variant === variant)
      .map((level) => [level.clients, pick(level) ?? null] as const),
  }));
}

const DTM_MODE_NAMES: Record<DtmMode, string> = {
  durable: 'DTM saga, durable branch updates',
  default: "DTM saga, DTM's default",
};
// From the names rather than dtm.mts, whose import would load the whole benchmark with the report.
const DTM_MODES = Object.keys(DTM_MODE_NAMES) as DtmMode[];

/** DTM's levels of one mode, in the run's order; none when the run had no --dtm. */
function dtmLevels(result: BenchResult, mode: DtmMode): DtmLevel[] {
  return (result.dtm?.levels ?? []).filter((level) => level.mode === mode);
}

function fastest<T extends { readonly committedPerSecond: number }>(levels: readonly T[]): T | null {
  return levels.reduce<T | null>(
    (best, level) => (best === null || level.committedPerSecond > best.committedPerSecond ? level : best),
    null,
  );
}

/**
 * Verdict against DTM in the same run: best against best (each at its own best level), and at
 * each client level. Verdict's side is the one-request transaction, which, like DTM's saga
 * submit, names every participant in one call.
 */
export function dtmComparison(result: BenchResult): string[] {
  const verdictLevels = result.levels.filter((level) => level.variant === 'one-request');
  const verdictBest = fastest(verdictLevels);
  if (verdictBest === null) return [];
  return DTM_MODES.flatMap((mode) => {
    const dtmBest = fastest(dtmLevels(result, mode));
    if (dtmBest === null) return [];
    const perLevel = dtmLevels(result, mode).map((level) => {
      const verdict = verdictLevels.find((candidate) => candidate.clients === level.clients);
      return `${level.clients}: ${fixed(verdict === undefined ? null : verdict.committedPerSecond / level.committedPerSecond, 2)}x`;
    });
    const verdictCpu = verdictBest.machineCpuSecondsPerTransaction;
    const dtmCpu = dtmBest.machineCpuSecondsPerTransaction;
    return [
      `Verdict one-request against ${DTM_MODE_NAMES[mode]}: best ${Math.round(verdictBest.committedPerSecond)} tx/s ` +
        `(${verdictBest.clients} clients) against ${Math.round(dtmBest.committedPerSecond)} tx/s (${dtmBest.clients} clients) = ` +
        `${fixed(verdictBest.committedPerSecond / dtmBest.committedPerSecond, 2)}x; the whole machine's CPU per transaction there ` +
        `${fixed(verdictCpu === null ? null : verdictCpu * 1000, 2)} against ${fixed(dtmCpu === null ? null : dtmCpu * 1000, 2)} ms ` +
        `(${fixed(verdictCpu === null || dtmCpu === null ? null : dtmCpu / verdictCpu, 2)}x less); per level ${perLevel.join(', ')}`,
    ];
  }).concat(halfLoadComparison(result));
}

/** Verdict's half-load level and DTM's paced at its rate; null unless the run has both. */
function offeredLoad(result: BenchResult): { verdict: LevelResult; dtm: DtmHalfLoad } | null {
  const verdict = result.halfLoad?.level ?? null;
  const dtm = result.dtm?.halfLoad ?? null;
  return verdict === null || dtm === null || dtm.levels.length === 0 ? null : { verdict, dtm };
}

/** Verdict's half-load level and DTM's at the same offered rate, in one line; none without both. */
function halfLoadComparison(result: BenchResult): string[] {
  const both = offeredLoad(result);
  if (both === null) return [];
  const { verdict, dtm } = both;
  const part = (name: string, row: OfferedLoadRow): string =>
    `${name} ${Math.round(row.committedPerSecond)} tx/s, p50/p99 ${fixed(row.latency?.p50Ms)}/${fixed(row.latency?.p99Ms)} ms, ` +
    `machine ${fixed((row.machineCpuSecondsPerTransaction ?? Number.NaN) * 1000, 2)} ms/tx`;
  return [
    `paced at Verdict's half load, ${Math.round(dtm.ratePerSecond)} tx/s offered by ${verdict.clients} clients: ` +
      [
        part('Verdict one-request', verdictRow(verdict)),
        ...dtm.levels.map((level) => part(DTM_MODE_NAMES[level.mode], level)),
      ].join('; '),
  ];
}

/** What the half-load comparison reads of a Verdict level or a DTM one. */
interface OfferedLoadRow {
  readonly committedPerSecond: number;
  readonly latency: LevelResult['commitLatency'];
  readonly failed: number;
  readonly machineCpuSecondsPerTransaction: number | null;
}

function verdictRow(level: LevelResult): OfferedLoadRow {
  return {
    committedPerSecond: level.committedPerSecond,
    latency: level.commitLatency,
    failed: level.failed + level.aborted,
    machineCpuSecondsPerTransaction: level.machineCpuSecondsPerTransaction ?? null,
  };
}

/** The charts of one run, as [file name, SVG text]. */
export function chartsOf(result: BenchResult): [string, string][] {
  const charts: [string, string][] = [];
  const title = `${result.name}: ${result.options.participants} ${result.options.kind} participants`;
  charts.push([
    `${result.name}-throughput.svg`,
    renderLineChart({
      title: `${title}, committed tx/s`,
      xLabel: 'closed-loop clients',
      yLabel: 'tx/s',
      xScale: 'log2',
      series: [
        ...levelSeries(result.levels, (level) => level.committedPerSecond),
        ...DTM_MODES.map((mode) => ({
          name: DTM_MODE_NAMES[mode],
          points: dtmLevels(result, mode).map((level) => [level.clients, level.committedPerSecond] as const),
        })).filter((series) => series.points.length > 0),
      ],
    }),
  ]);
  const main = result.levels.filter((level) => level.variant === 'enlist');
  charts.push([
    `${result.name}-latency.svg`,
    renderLineChart({
      title: `${title}, latency (begin+enlist+commit)`,
      xLabel: 'closed-loop clients',
      yLabel: 'ms',
      xScale: 'log2',
      series: [
        {
          name: 'tx p50',
          points: main.map((level) => [level.clients, level.transactionLatency?.p50Ms ?? null]),
        },
        {
          name: 'tx p95',
          points: main.map((level) => [level.clients, level.transactionLatency?.p95Ms ?? null]),
        },
        {
          name: 'tx p99',
          points: main.map((level) => [level.clients, level.transactionLatency?.p99Ms ?? null]),
        },
        {
          name: 'commit p50',
          points: main.map((level) => [level.clients, level.commitLatency?.p50Ms ?? null]),
        },
        {
          name: 'commit p99',
          points: main.map((level) => [level.clients, level.commitLatency?.p99Ms ?? null]),
        },
      ],
    }),
  ]);
  const failover = result.failover;
  if (failover !== null) {
    const seconds = (ms: number): number => ms / 1000;
    const markers = [
      { x: seconds(failover.killAtMs), label: `kill ${failover.killedNode}` },
      ...(failover.newLeaderAfterMs === null
        ? []
        : [
            {
              x: seconds(failover.killAtMs + failover.newLeaderAfterMs),
              label: `${failover.newLeader ?? '?'} leads`,
            },
          ]),
      { x: seconds(failover.restartAtMs), label: `restart ${failover.killedNode}` },
    ];
    charts.push([
      `${result.name}-failover-rate.svg`,
      renderLineChart({
        title: `${result.name}: leader SIGKILL under ${Math.round(failover.ratePerSecond)} tx/s offered, per 100 ms`,
        xLabel: 'seconds',
        yLabel: 'committed tx/s',
        width: 900,
        markers,
        series: [
          {
            name: 'tx/s per 100 ms',
            points: failover.timeline.map((bucket) => [seconds(bucket.startMs), bucket.committedPerSecond]),
          },
          {
            // At a few hundred tx/s a 100 ms bucket holds a few transactions: the average shows the trend.
            name: 'tx/s, last 1 s',
            points: failover.timeline.map((bucket, index) => {
              const window = failover.timeline.slice(Math.max(0, index - 9), index + 1);
              const rate = window.reduce((sum, each) => sum + each.committedPerSecond, 0) / window.length;
              return [seconds(bucket.startMs), rate];
            }),
          },
        ],
      }),
    ]);
    charts.push([
      `${result.name}-failover-p99.svg`,
      renderLineChart({
        title: `${result.name}: p99 of the transactions ending in each 100 ms`,
        xLabel: 'seconds',
        yLabel: 'ms',
        width: 900,
        markers,
        series: [
          {
            name: 'tx p99',
            points: failover.timeline.map((bucket) => [seconds(bucket.startMs), bucket.p99Ms]),
          },
        ],
      }),
    ]);
  }
  return charts;
}

/** p50 / p95 / p99 / max of a latency summary, for a table cell. */
function latencyCell(summary: LevelResult['commitLatency']): string {
  return summary === null
    ? '–'
    : [summary.p50Ms, summary.p95Ms, summary.p99Ms, summary.maxMs].map((value) => fixed(value)).join(' / ');
}

/** One row per level: CPU ms per committed transaction of each process, and the cores it used. */
function cpuTable(levels: readonly LevelResult[]): string {
  const names = [...new Set(levels.flatMap((level) => level.cpu.map((entry) => entry.name)))];
  const cell = (level: LevelResult, name: string): string => {
    const entry = level.cpu.find((candidate) => candidate.name === name);
    return `${fixed((entry?.secondsPerTransaction ?? Number.NaN) * 1000, 2)} (${fixed(entry?.cores, 2)})`;
  };
  return [
    `| clients | variant | ${names.join(' | ')} | whole machine |`,
    `| ---: | --- | ${names.map(() => '---:').join(' | ')} | ---: |`,
    ...levels.map(
      (level) =>
        `| ${level.clients} | ${level.variant} | ${names.map((name) => cell(level, name)).join(' | ')} | ` +
        `${fixed((level.machineCpuSecondsPerTransaction ?? Number.NaN) * 1000, 2)} |`,
    ),
  ].join('\n');
}

/** The Markdown section of one run. */
export function sectionOf(result: BenchResult): string {
  const { floors } = result;
  const { fanOut } = floors.kafka as Partial<KafkaFloors>;
  const lines: string[] = [
    `## ${result.name}`,
    '',
    `Measured ${result.measuredAt} on ${result.machine.cpus} cores, Node ${result.machine.node}; load average ` +
      `${result.machine.loadAverageAtStart.map((value) => value.toFixed(2)).join(' ')} at the start, ` +
      `${result.machine.loadAverageAtEnd.map((value) => value.toFixed(2)).join(' ')} at the end. ` +
      `\`npm run bench -- --participants ${result.options.participants} --kind ${result.options.kind} --clients ${result.options.clients.join(',')} ` +
      `--duration ${result.options.durationSeconds}${result.options.failover ? ' --failover' : ''}` +
      `${result.options.dtm === true ? ' --dtm' : ''}\`.`,
    '',
    `Source: commit ${result.source.commit.slice(0, 12)}` +
      (result.source.uncommitted.length === 0
        ? ', no uncommitted changes in apps/ or libs/.'
        : ` plus uncommitted changes in ${result.source.uncommitted.join(', ')} (dist/ is built from the working tree).`),
    '',
    result.setup,
    '',
    '```',
    lastLine(result),
    '```',
    '',
    '### Floors (measured in the same run)',
    '',
    '| floor | p50 | p99 | rate |',
    '| --- | ---: | ---: | ---: |',
    `| Kafka round trip, one at a time | ${fixed(floors.kafka.oneAtATime.latency.p50Ms, 2)} ms | ${fixed(floors.kafka.oneAtATime.latency.p99Ms, 2)} ms | ${Math.round(floors.kafka.oneAtATime.roundTripsPerSecond)}/s |`,
    // Results written before 5210f93 have no fan-out floor.
    ...(fanOut === undefined
      ? []
      : [
          `| Kafka round trip to ${fanOut.responders} responders at once, one at a time | ${fixed(fanOut.latency.p50Ms, 2)} ms | ${fixed(fanOut.latency.p99Ms, 2)} ms | ${Math.round(fanOut.roundTripsPerSecond)}/s |`,
        ]),
    `| Kafka round trips, ${floors.kafka.outstanding} outstanding, one send per consumer batch | ${fixed(floors.kafka.batched.latency.p50Ms, 2)} ms | ${fixed(floors.kafka.batched.latency.p99Ms, 2)} ms | ${Math.round(floors.kafka.batched.roundTripsPerSecond)}/s |`,
    `| Kafka round trips, ${floors.kafka.outstanding} outstanding, one awaited send per message | ${fixed(floors.kafka.single.latency.p50Ms, 2)} ms | ${fixed(floors.kafka.single.latency.p99Ms, 2)} ms | ${Math.round(floors.kafka.single.roundTripsPerSecond)}/s |`,
    `| fdatasync of one 256-byte record (coordinator data dir) | ${fixed(floors.fsync.latencyMsP50, 3)} ms | ${fixed(floors.fsync.latencyMsP99, 3)} ms | ${Math.round(floors.fsync.fsyncsPerSecond)}/s |`,
    `| Raft commit of one entry, 3 processes, fsync on | ${fixed(floors.raftCommit.latencyMsP50, 2)} ms | ${fixed(floors.raftCommit.latencyMsP99, 2)} ms | ${Math.round(floors.raftCommit.commitsPerSecond)}/s |`,
    `| PostgreSQL PREPARE TRANSACTION (one-row insert) | ${fixed(floors.postgres.prepare.p50Ms, 2)} ms | ${fixed(floors.postgres.prepare.p99Ms, 2)} ms | ${Math.round(floors.postgres.pairsPerSecond)} pairs/s |`,
    `| PostgreSQL COMMIT PREPARED | ${fixed(floors.postgres.commitPrepared.p50Ms, 2)} ms | ${fixed(floors.postgres.commitPrepared.p99Ms, 2)} ms | |`,
    '',
    `A commit call must pay at least ${Object.entries(floors.commitFloorParts)
      .map(([part, ms]) => `${part} ${ms.toFixed(2)} ms`)
      .join(' + ')} = **${floors.commitFloorMs.toFixed(2)} ms**. ` +
      `Verdict's commit p50 at ${result.lowLoad.clients} client: ${fixed(result.lowLoad.commitP50Ms, 2)} ms = ` +
      `**${fixed(result.lowLoad.ratioToFloor, 2)}x** the floor.`,
    '',
    `Transport ceiling: ${Math.round(floors.kafka.batched.roundTripsPerSecond)} batched round trips/s ÷ ` +
      `${2 * result.options.participants} round trips per transaction = ${Math.round(floors.transportCeilingPerSecond)} tx/s. ` +
      `Verdict's best: ${Math.round(result.best.committedPerSecond)} tx/s (${result.best.clients} clients, ${result.best.variant}) = ` +
      `**${fixed(result.ceilingRatio, 3)}** of it.`,
    '',
    '### Levels',
    '',
    `![throughput](${result.name}-throughput.svg)`,
    `![latency](${result.name}-latency.svg)`,
    '',
    '| clients | variant | tx/s | commit p50 / p95 / p99 / max ms | tx p50 / p95 / p99 / max ms | aborted | failed | retried requests | Raft entries/tx | coordinator fsyncs/tx | PG WAL fsyncs/tx | Kafka messages/tx | coordinator produce requests/tx |',
    '| ---: | --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...result.levels.map(
      (level) =>
        `| ${level.clients} | ${level.variant} | ${Math.round(level.committedPerSecond)} | ${latencyCell(level.commitLatency)} | ` +
        `${latencyCell(level.transactionLatency)} | ${level.aborted} | ${level.failed} | ${level.retriedRequests} | ` +
        `${fixed(level.raftEntriesPerTransaction, 2)} | ${fixed(level.coordinatorFsyncsPerTransaction, 2)} | ` +
        `${fixed(level.postgresWalFsyncsPerTransaction, 2)} | ${fixed(level.kafkaMessagesPerTransaction, 2)} | ` +
        `${fixed(level.coordinatorProduceRequestsPerTransaction ?? null, 2)} |`,
    ),
    '',
    '#### CPU ms per committed transaction, per process (cores used)',
    '',
    'Participants are p1, p2, …; `whole machine` is every busy CPU of the machine, other work included.',
    '',
    cpuTable(result.levels),
    '',
    ...stagesTable(result.levels),
  ];
  for (const level of result.levels) {
    if (level.failures.length > 0) {
      lines.push(
        `Not committed at ${level.clients} clients, ${level.variant}: ${level.failures.join('; ')}`,
        '',
      );
    }
  }
  const halfLoad = result.halfLoad ?? null;
  if (halfLoad !== null) {
    const { level } = halfLoad;
    const machine = level.machineCpuSecondsPerTransaction;
    lines.push(
      '### Half the best rate',
      '',
      `${level.clients} clients offered ${Math.round(halfLoad.ratePerSecond)} tx/s of one-request transactions ` +
        `(${halfLoad.chosen === true ? 'the rate given with --paced-rate' : 'half the best one-request rate above'}), ` +
        'each client starting its transactions on a schedule instead of in a closed loop.',
      '',
      '| committed tx/s | commit p50 / p95 / p99 / max ms | aborted | failed | whole machine CPU ms/tx |',
      '| ---: | --- | ---: | ---: | ---: |',
      `| ${Math.round(level.committedPerSecond)} | ${latencyCell(level.commitLatency)} | ${level.aborted} | ${level.failed} | ` +
        `${machine === null ? '–' : fixed(machine * 1000, 2)} |`,
      '',
      ...(level.failures.length > 0 ? [`Not committed: ${level.failures.join('; ')}`, ''] : []),
    );
  }
  const failover = result.failover;
  if (failover !== null) {
    lines.push(
      '### Leader failover',
      '',
      `${failover.clients} clients offered ${Math.round(failover.ratePerSecond)} tx/s (half the best ` +
        `${VARIANT_NAMES[failover.variant ?? 'enlist']} rate) for ` +
        `${failover.totalMs / 1000} s; leader ${failover.killedNode} was killed (SIGKILL) at ${failover.killAtMs / 1000} s and ` +
        `restarted at ${failover.restartAtMs / 1000} s.`,
      '',
      `![failover rate](${result.name}-failover-rate.svg)`,
      `![failover p99](${result.name}-failover-p99.svg)`,
      '',
      '| | |',
      '| --- | --- |',
      `| committed tx/s before the kill | ${Math.round(failover.shape.baselinePerSecond)} |`,
      `| lowest tx/s over 1 s after the kill (the dip) | ${Math.round(failover.shape.dipPerSecond)} |`,
      `| longest time with nothing committed | ${failover.shape.longestStallMs} ms |`,
      `| kill → another node calls itself leader | ${failover.newLeaderAfterMs === null ? 'never' : `${Math.round(failover.newLeaderAfterMs)} ms (${failover.newLeader ?? '?'})`} |`,
      `| kill → 1 s at ≥ 90% of the rate before | ${failover.shape.backToFullRateMs === null ? 'never' : `${failover.shape.backToFullRateMs} ms`} |`,
      `| transactions committed / aborted / failed | ${failover.committed} / ${failover.aborted} / ${failover.failed} |`,
      `| of them not committed around the failover | ${failover.lostToFailover} |`,
      `| requests sent again (503 or connection lost) | ${failover.retriedRequests} |`,
      '',
    );
    if (failover.failures.length > 0) lines.push(`Not committed: ${failover.failures.join('; ')}`, '');
  }
  if ((result.dtm ?? null) !== null) lines.push(...dtmSection(result));
  if (result.notMeasured.length > 0) {
    lines.push('### Not measured', '', ...result.notMeasured.map((item) => `- ${item}`), '');
  }
  return lines.join('\n');
}

/** Rewrites report.md and every run's charts from the JSON files in `directory`. */
export async function writeReport(directory: string): Promise<string> {
  const files = (await readdir(directory))
    .filter((file) => file.endsWith('.json') && !NOT_RUNS.has(file))
    .sort();
  const results: BenchResult[] = [];
  for (const file of files)
    results.push(JSON.parse(await readFile(join(directory, file), 'utf8')) as BenchResult);
  const sections: string[] = [];
  for (const result of results) {
    for (const [file, svg] of chartsOf(result)) await writeFile(join(directory, file), svg);
    sections.push(sectionOf(result));
  }
  const report = join(directory, 'report.md');
  await writeFile(
    report,
    [
      '# Verdict benchmark report',
      '',
      'Written by `npm run bench` from the `*.json` files beside it; bench/README.md says how to run it and what each number means.',
      '',
      ...results.map((result) => `- [${result.name}](#${result.name}): \`${lastLine(result)}\``),
      '',
      ...sections,
    ].join('\n'),
  );
  return report;
}

/** DTM's levels beside Verdict's one-request levels at the same clients. */
function dtmSection(result: BenchResult): string[] {
  const baseline = result.dtm;
  if (baseline === null || baseline === undefined) return [];
  const names = [...new Set(baseline.levels.flatMap((level) => level.cpu.map((entry) => entry.name)))];
  const cpuCell = (level: DtmLevel, name: string): string => {
    const entry = level.cpu.find((candidate) => candidate.name === name);
    return fixed((entry?.secondsPerTransaction ?? Number.NaN) * 1000, 2);
  };
  return [
    '### DTM in the same run',
    '',
    baseline.setup,
    '',
    ...dtmComparison(result).map((line) => `- ${line}`),
    '',
    `| clients | DTM mode | tx/s | p50 / p95 / p99 / max ms | failed | ${names.map((name) => `${name} CPU ms/tx`).join(' | ')} | whole machine CPU ms/tx | Verdict one-request tx/s | Verdict ÷ DTM |`,
    `| ---: | --- | ---: | --- | ---: | ${names.map(() => '---:').join(' | ')} | ---: | ---: | ---: |`,
    ...baseline.levels.map((level) => {
      const verdict = result.levels.find(
        (candidate) => candidate.variant === 'one-request' && candidate.clients === level.clients,
      );
      return (
        `| ${level.clients} | ${level.mode} | ${Math.round(level.committedPerSecond)} | ${latencyCell(level.latency)} | ${level.failed} | ` +
        `${names.map((name) => cpuCell(level, name)).join(' | ')} | ${fixed((level.machineCpuSecondsPerTransaction ?? Number.NaN) * 1000, 2)} | ` +
        `${verdict === undefined ? '–' : Math.round(verdict.committedPerSecond)} | ` +
        `${fixed(verdict === undefined ? null : verdict.committedPerSecond / level.committedPerSecond, 2)} |`
      );
    }),
    '',
    ...offeredLoadTable(result),
    ...[...baseline.levels, ...(baseline.halfLoad?.levels ?? [])]
      .filter((level) => level.failures.length > 0)
      .flatMap((level) => [
        `Failed at ${level.clients} clients, ${level.mode}: ${level.failures.join('; ')}`,
        '',
      ]),
  ];
}

/** Verdict's half-load level beside DTM's paced at its rate, as a table; none without both. */
function offeredLoadTable(result: BenchResult): string[] {
  const both = offeredLoad(result);
  if (both === null) return [];
  const { verdict, dtm } = both;
  const row = (name: string, level: OfferedLoadRow): string =>
    `| ${name} | ${Math.round(level.committedPerSecond)} | ${latencyCell(level.latency)} | ${level.failed} | ` +
    `${fixed((level.machineCpuSecondsPerTransaction ?? Number.NaN) * 1000, 2)} |`;
  return [
    `At one offered load, ${Math.round(dtm.ratePerSecond)} tx/s paced by ${verdict.clients} clients (Verdict's half load):`,
    '',
    '| | tx/s | p50 / p95 / p99 / max ms | failed or aborted | whole machine CPU ms/tx |',
    '| --- | ---: | --- | ---: | ---: |',
    row('Verdict one-request (commit call)', verdictRow(verdict)),
    ...dtm.levels.map((level) => row(`${DTM_MODE_NAMES[level.mode]} (submit call)`, level)),
    '',
  ];
}

/** p50 / p99 of each stage of the commit call; runs older than the stages have none. */
function stagesTable(levels: readonly LevelResult[]): string[] {
  // `?? null`: results written before the stages existed lack the field.
  const staged = levels.filter((level) => (level.stages ?? null) !== null);
  if (staged.length === 0) return [];
  return [
    '#### Where the commit call spends its time (p50 / p99 ms)',
    '',
    'From the timelines of up to 200 committed transactions per level (millisecond timestamps), read after the level.',
    '',
    `| clients | variant | samples | ${STAGES.join(' | ')} |`,
    `| ---: | --- | ---: |${STAGES.map(() => ' ---: |').join('')}`,
    ...staged.map((level) => {
      const stages = level.stages;
      const cells = STAGES.map((stage) => {
        const summary = stages?.[stage] ?? null;
        return summary === null ? '–' : `${fixed(summary.p50Ms, 0)} / ${fixed(summary.p99Ms, 0)}`;
      });
      return `| ${level.clients} | ${level.variant} | ${stages?.samples ?? 0} | ${cells.join(' | ')} |`;
    }),
    '',
  ];
}
