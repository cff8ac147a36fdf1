// The commands, their flags and what each one asks the cluster. Built fresh for every run, with
// its input and output passed in, so specs drive it exactly as the binary does.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  clusterStatusSchema,
  transactionPageSchema,
  transactionSchema,
  type ClusterStatus,
  type Transaction,
} from './api';
import { createClient, type Fetch, type VerdictClient } from './client';
import { parseDuration } from './durations';
import { CliError, EXIT_CODES, describeDecision, usageError } from './errors';
import { summarizeParticipants } from './participants';
import {
  renderClusterStatus,
  renderParticipants,
  renderTransaction,
  renderTransactionList,
  type RenderOptions,
} from './render';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch: Fetch;
  readonly now: () => Date;
  /** Terminal width for wrapping; null when stdout is not a terminal. */
  readonly columns: number | null;
}

const TIMEOUT_DEFAULT = '15s';
/** The API's page limit (LIST_LIMIT_MAX): `participants` reads one full page. */
const PARTICIPANTS_SAMPLE = 500;

interface GlobalOptions {
  readonly server?: string;
  readonly apiKey?: string;
  readonly timeout: number;
}

interface JsonOption {
  readonly json?: boolean;
}

/** Runs one command line (without `node` and the script) and returns the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_CODES.ok;
  } catch (error: unknown) {
    if (error instanceof CommanderError) {
      // Commander already printed its message (or the help).
      return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    }
    if (error instanceof CliError) {
      io.stderr(`verdict: ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
}

function parseLimit(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new InvalidArgumentError('give a whole number of transactions, at least 1');
  }
  return Number(value);
}

function parseDurationOption(value: string): number {
  try {
    return parseDuration(value);
  } catch (error: unknown) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

function parseTimeout(value: string): number {
  const ms = parseDurationOption(value);
  if (ms < 1) throw new InvalidArgumentError('the timeout must be at least 1ms');
  return ms;
}

function buildProgram(io: CliIo): Command {
  const program = new Command('verdict')
    .description(
      'Operate a Verdict cluster: list, inspect and resolve transactions, see the cluster and its participants.',
    )
    .option('--server <url>', 'any coordinator node, e.g. http://127.0.0.1:8081 (env: VERDICT_URL)')
    .option('--api-key <key>', 'API key; prefer the environment, a flag shows in ps (env: VERDICT_API_KEY)')
    .addOption(
      new Option('--timeout <duration>', 'give up on an answer after this long')
        .default(parseTimeout(TIMEOUT_DEFAULT), TIMEOUT_DEFAULT)
        .argParser(parseTimeout),
    )
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 other failure, 2 usage, 3 server unreachable, 4 no leader or not ready (retry),\n' +
        '5 API key missing or unknown, 6 needs the operator role, 7 not found, 8 conflict (e.g. already decided),\n' +
        '9 request rejected (field errors).',
    );
  // The environment is read from io.env, not through Commander's Option.env() (which reads
  // process.env), so that specs and embedding callers control it.

  const connect = (command: Command): { client: VerdictClient; render: RenderOptions } => {
    const options = command.optsWithGlobals<GlobalOptions>();
    const server = options.server ?? io.env['VERDICT_URL'];
    if (server === undefined || server === '') {
      throw usageError(
        'no server given: pass --server <url> or set VERDICT_URL to any coordinator node (npm start prints their URLs)',
      );
    }
    const apiKey = options.apiKey ?? io.env['VERDICT_API_KEY'];
    if (apiKey === undefined || apiKey === '') {
      throw new CliError(
        'no API key given: set VERDICT_API_KEY (or pass --api-key); npm start prints the service and operator keys',
        EXIT_CODES.unauthenticated,
      );
    }
    return {
      client: createClient({ server, apiKey, timeoutMs: options.timeout }, io.fetch),
      render: { now: io.now(), width: io.columns },
    };
  };
  const printJson = (value: unknown): void => io.stdout(`${JSON.stringify(value, null, 2)}\n`);
  const print = (text: string): void => io.stdout(`${text}\n`);

  const tx = program.command('tx').description('transactions');

  tx.command('list')
    .description('list transactions, newest first')
    .option('--state <state>', 'ACTIVE, PREPARING, COMMITTING, ABORTING, COMMITTED or ABORTED')
    .option('--stuck', 'only transactions the coordinator reports stuck')
    .option('--participant <name>', 'only transactions this participant is enlisted in')
    .option(
      '--older-than <duration>',
      'only transactions begun at least this long ago (90s, 5m, 2h)',
      parseDurationOption,
    )
    .option('--limit <n>', 'at most this many (the server allows 1 to 500; default 50)', parseLimit)
    .option('--cursor <cursor>', 'the next page, as printed after a full page')
    .option('--json', 'print the page as JSON')
    .action(async (options: ListOptions, command: Command) => {
      const { client, render } = connect(command);
      const page = await client.get(`/v1/transactions${listQuery(options)}`, transactionPageSchema);
      if (options.json === true) printJson(page);
      else print(renderTransactionList(page, render));
    });

  tx.command('show')
    .description('one transaction: participants, decision and timeline')
    .argument('<txId>', 'transaction id')
    .option('--json', 'print the transaction as JSON')
    .action(async (txId: string, options: JsonOption, command: Command) => {
      const { client, render } = connect(command);
      const transaction = await client.get(transactionPath(txId), transactionSchema);
      if (options.json === true) printJson(transaction);
      else print(renderTransaction(transaction, render));
    });

  tx.command('resolve')
    .description('record a decision by hand for a stuck transaction (operator key)')
    .argument('<txId>', 'transaction id')
    .addOption(
      new Option('--commit', 'record COMMIT (only when every participant voted YES)').conflicts('abort'),
    )
    .addOption(new Option('--abort', 'record ABORT'))
    .requiredOption('--reason <text>', 'why, for the audit trail (recorded with the decision)')
    .option('--json', 'print the transaction as JSON')
    .action(async (txId: string, options: ResolveOptions, command: Command) => {
      if (options.commit !== true && options.abort !== true) {
        throw usageError('say which decision to record: --commit or --abort');
      }
      const { client, render } = connect(command);
      const outcome = options.commit === true ? 'commit' : 'abort';
      const transaction = await explainFinished(client, txId, () =>
        client.post(
          `/v1/admin/transactions/${encodeURIComponent(txId)}/resolve`,
          { outcome, reason: options.reason },
          transactionSchema,
        ),
      );
      if (options.json === true) {
        printJson(transaction);
        return;
      }
      const decision = transaction.decision;
      print(
        decision === null
          ? `Resolution of ${transaction.id} requested; no decision is recorded yet.`
          : `Recorded for ${transaction.id}: ${describeDecision(decision)}`,
      );
      print('');
      print(renderTransaction(transaction, render));
    });

  tx.command('retry')
    .description('re-send the pending phase now to participants that have not answered (operator key)')
    .argument('<txId>', 'transaction id')
    .option('--reason <text>', 'why, for the audit trail (shown on the RETRY event of the timeline)')
    .option('--json', 'print the transaction as JSON')
    .action(async (txId: string, options: RetryOptions, command: Command) => {
      const { client, render } = connect(command);
      const transaction = await explainFinished(client, txId, () =>
        client.post(
          `/v1/admin/transactions/${encodeURIComponent(txId)}/retry`,
          options.reason === undefined ? undefined : { reason: options.reason },
          transactionSchema,
        ),
      );
      if (options.json === true) {
        printJson(transaction);
        return;
      }
      print(retrySummary(transaction));
      print('');
      print(renderTransaction(transaction, render));
    });

  const cluster = program.command('cluster').description('the coordinator cluster');

  cluster
    .command('status')
    .description("nodes, roles, Raft progress and breakers (the leader's view when it can be reached)")
    .option('--json', 'print the status as JSON')
    .action(async (options: JsonOption, command: Command) => {
      const { client } = connect(command);
      const { status, note } = await leaderView(client);
      if (options.json === true) printJson(status);
      else print(renderClusterStatus(status, note));
    });

  cluster
    .command('transfer-leader')
    .description('hand leadership to another node, e.g. before restarting the leader (operator key)')
    .option('--to <nodeId>', 'the node to lead; the most caught-up follower when absent')
    .option('--json', 'print the new status as JSON')
    .action(async (options: TransferOptions, command: Command) => {
      const { client } = connect(command);
      const before = await client.get('/v1/cluster', clusterStatusSchema);
      const after = await client.post(
        '/v1/cluster/leadership-transfer',
        options.to === undefined ? {} : { to: options.to },
        clusterStatusSchema,
      );
      if (options.json === true) printJson(after);
      else
        print(
          `Leadership moved from ${before.leaderId ?? 'no leader'} to ${after.leaderId ?? 'no leader yet'} (term ${after.term}).`,
        );
    });

  program
    .command('participants')
    .description('each participant: breaker state, in-doubt and stuck transactions, last seen')
    .option('--json', 'print the participants as JSON')
    .action(async (options: JsonOption, command: Command) => {
      const { client, render } = connect(command);
      const { status } = await leaderView(client);
      const page = await client.get(`/v1/transactions?limit=${PARTICIPANTS_SAMPLE}`, transactionPageSchema);
      const summaries = summarizeParticipants(status.breakers, status.participants ?? [], page.items);
      if (options.json === true)
        printJson({ participants: summaries, sampledTransactions: page.items.length });
      else print(renderParticipants(summaries, page.items.length, render));
    });

  return program;
}

interface ListOptions extends JsonOption {
  readonly state?: string;
  readonly stuck?: boolean;
  readonly participant?: string;
  readonly olderThan?: number;
  readonly limit?: number;
  readonly cursor?: string;
}

interface RetryOptions extends JsonOption {
  readonly reason?: string;
}

interface ResolveOptions extends JsonOption {
  readonly commit?: boolean;
  readonly abort?: boolean;
  readonly reason: string;
}

interface TransferOptions extends JsonOption {
  readonly to?: string;
}

export function listQuery(options: ListOptions): string {
  const query = new URLSearchParams();
  if (options.state !== undefined) query.set('state', options.state);
  if (options.stuck === true) query.set('stuck', 'true');
  if (options.participant !== undefined) query.set('participant', options.participant);
  if (options.olderThan !== undefined) query.set('olderThanMs', String(options.olderThan));
  if (options.limit !== undefined) query.set('limit', String(options.limit));
  if (options.cursor !== undefined) query.set('cursor', options.cursor);
  const text = query.toString();
  return text === '' ? '' : `?${text}`;
}

function transactionPath(txId: string): string {
  return `/v1/transactions/${encodeURIComponent(txId)}`;
}

/**
 * Operator actions work on live transactions only; a finished one answers TX_NOT_FOUND although
 * GET still finds it in history. Then the operator's real question is "what was decided", so
 * the CLI reads it and answers that, as the conflict it is.
 */
async function explainFinished(
  client: VerdictClient,
  txId: string,
  action: () => Promise<Transaction>,
): Promise<Transaction> {
  try {
    return await action();
  } catch (error: unknown) {
    if (!(error instanceof CliError) || error.problem?.code !== 'TX_NOT_FOUND') throw error;
    const finished = await client.get(transactionPath(txId), transactionSchema).catch(() => null);
    if (finished?.decision === null || finished?.decision === undefined) throw error;
    throw new CliError(
      `transaction ${finished.id} is ${finished.state}: already decided ${describeDecision(finished.decision)}. ` +
        'It is finished; there is nothing left to resolve or retry.',
      EXIT_CODES.conflict,
      error.problem,
    );
  }
}

function retrySummary(transaction: Transaction): string {
  const waiting = transaction.participants.filter((participant) =>
    transaction.decision === null ? participant.vote === null : !participant.ack,
  );
  const phase = transaction.decision === null ? 'PREPARE' : transaction.decision.outcome;
  if (waiting.length === 0)
    return `Nothing to re-send for ${transaction.id}: every participant has answered.`;
  const names = waiting
    .map((participant) => `${participant.name} (attempt ${participant.attempts})`)
    .join(', ');
  return `Re-sent ${phase} for ${transaction.id} to ${names}.`;
}

/**
 * Breakers, member lag and last contact live on the leader. Asked of a follower, the status is
 * fetched again from the leader's URL when the follower knows it; when that fails, the
 * follower's own view is shown and says so.
 */
async function leaderView(client: VerdictClient): Promise<{ status: ClusterStatus; note: string | null }> {
  const local = await client.get('/v1/cluster', clusterStatusSchema);
  if (local.role === 'LEADER' || local.leaderId === null) return { status: local, note: null };
  const leaderUrl = local.members.find((member) => member.nodeId === local.leaderId)?.httpUrl;
  if (leaderUrl === null || leaderUrl === undefined) {
    return {
      status: local,
      note: `asked at ${client.server}; its leader ${local.leaderId} reports no HTTP URL`,
    };
  }
  try {
    const status = await client.at(leaderUrl).get('/v1/cluster', clusterStatusSchema);
    return { status, note: `reached at ${leaderUrl} through ${local.nodeId}` };
  } catch (error: unknown) {
    const why = error instanceof CliError ? error.message : String(error);
    return {
      status: local,
      note: `the leader ${local.leaderId} at ${leaderUrl} could not be asked (${why})`,
    };
  }
}
