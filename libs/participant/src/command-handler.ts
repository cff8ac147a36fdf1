import {
  PROTOCOL_VERSION,
  type Outcome,
  type ParticipantCommand,
  type ParticipantReply,
  type Prepare,
} from '@verdict/protocol';
import { ConcurrencyLimit, KeyedSerializer, withinBudget } from './concurrency';
import { type ParticipantMemory, planCommand, type PlannedReply, type VoteRecord } from './promises';
import type { ParticipantLogger, ParticipantService, PrepareResult } from './service';

/** What became of one command: a reply to send, nothing (ignored or failed), or a message to park. */
export type Handled =
  | { readonly kind: 'reply'; readonly reply: ParticipantReply }
  | { readonly kind: 'silent'; readonly reason: string }
  | { readonly kind: 'reject'; readonly reason: string };

export interface CommandHandlerOptions {
  readonly participant: string;
  readonly service: ParticipantService;
  readonly memory: ParticipantMemory;
  readonly logger: ParticipantLogger;
  readonly prepareTimeoutMs: number;
  /** Commands handled at once across transactions (each may hold a database connection). */
  readonly concurrencyMax: number;
  readonly now: () => number;
}

/** The longest reason a VOTE may carry on the wire. */
const REASON_CHARS_MAX = 1000;

/**
 * Keeps the protocol's promises around the service: plans each command from memory
 * (`planCommand`), calls the service only when memory cannot answer, records the result, and builds
 * the reply. No Kafka here: the transport hands commands in and sends what comes out.
 */
export class CommandHandler {
  private readonly serializer = new KeyedSerializer();
  private readonly limit: ConcurrencyLimit;
  /** Prepares that outlived their budget: the next work on that txId waits for them to finish. */
  private readonly lingeringPrepares = new Map<string, Promise<unknown>>();

  constructor(private readonly options: CommandHandlerOptions) {
    this.limit = new ConcurrencyLimit(options.concurrencyMax);
  }

  /** Commands for one txId are handled one at a time, in the order they were handed in. */
  handle(command: ParticipantCommand): Promise<Handled> {
    return this.serializer.run(command.txId, () =>
      this.limit.run(async () => {
        await this.lingeringPrepares.get(command.txId);
        return this.handleNow(command);
      }),
    );
  }

  /**
   * Applies an outcome learned outside a command (the REST fallback of recovery). Returns false
   * when the service failed; the transaction stays in doubt and is asked about again later.
   */
  applyOutcome(txId: string, outcome: Outcome): Promise<boolean> {
    return this.serializer.run(txId, () => this.limit.run(() => this.applyOutcomeNow(txId, outcome)));
  }

  private async applyOutcomeNow(txId: string, outcome: Outcome): Promise<boolean> {
    await this.lingeringPrepares.get(txId);
    if (this.options.memory.get(txId)?.outcome === outcome) return true;
    try {
      await this.decide(txId, outcome, undefined);
    } catch (error) {
      this.options.logger.error('applying a recovered outcome failed; will ask again', {
        txId,
        outcome,
        error: describeError(error),
      });
      return false;
    }
    this.options.memory.recordOutcome(txId, 0, outcome);
    return true;
  }

  /** Resolves once every command and outcome submitted so far has been handled. */
  idle(): Promise<void> {
    return this.serializer.idle();
  }

  private async handleNow(command: ParticipantCommand): Promise<Handled> {
    const { memory, logger } = this.options;
    const plan = planCommand(memory.get(command.txId), command);
    if (plan.kind !== 'ignore' && plan.kind !== 'reject') memory.seeTerm(command.txId, command.term);
    switch (plan.kind) {
      case 'ignore':
        logger.warn(`ignored ${command.type} from a deposed leader`, {
          txId: command.txId,
          reason: plan.reason,
        });
        return { kind: 'silent', reason: plan.reason };
      case 'reject':
        logger.error(`refused ${command.type}`, { txId: command.txId, reason: plan.reason });
        return plan;
      case 'reply':
        return { kind: 'reply', reply: this.replyTo(command, plan.reply) };
      case 'prepare': {
        if (command.type !== 'PREPARE') throw new Error(`prepare planned for a ${command.type}`);
        const budgetMs = Math.min(
          this.options.prepareTimeoutMs,
          Date.parse(command.payload.deadline) - this.options.now(),
        );
        if (budgetMs <= 0) return this.latePrepare(command);
        const result = await this.prepare(command, budgetMs);
        return { kind: 'reply', reply: this.replyTo(command, this.recordPrepareResult(command, result)) };
      }
      case 'decide':
        return this.decideAndAck(command, plan.outcome);
      case 'prepareAndCommit': {
        if (command.type !== 'COMMIT') throw new Error(`one-phase commit planned for a ${command.type}`);
        const prepare: Prepare = {
          ...command,
          type: 'PREPARE',
          payload: {
            work: command.payload.work,
            deadline: new Date(this.options.now() + this.options.prepareTimeoutMs).toISOString(),
            participants: [this.options.participant],
          },
        };
        const planned = this.recordPrepareResult(
          command,
          await this.prepare(prepare, this.options.prepareTimeoutMs),
        );
        // A refused one-phase commit is answered with the NO vote: the coordinator records ABORT.
        if (planned.type === 'ACK' || planned.vote.vote === 'NO') {
          return { kind: 'reply', reply: this.replyTo(command, planned) };
        }
        if (planned.vote.vote === 'READ_ONLY') {
          memory.recordOutcome(command.txId, command.term, 'COMMIT');
          return { kind: 'reply', reply: this.replyTo(command, { type: 'ACK', outcome: 'COMMIT' }) };
        }
        return this.decideAndAck(command, 'COMMIT');
      }
    }
  }

  /**
   * A PREPARE past its deadline, with nothing in memory about the transaction: a re-delivery after
   * a restart, or one that waited too long in the topic. The coordinator stopped waiting, so new
   * work would only hold locks until its ABORT. But before a restart this participant may have
   * prepared the work and voted YES, and the coordinator may have decided COMMIT on that vote: a
   * NO now would contradict it (and its record would refuse the COMMIT). So the answer comes from
   * the service's durable state: work held prepared is voted YES again, as promised; otherwise
   * nothing is sent. The coordinator aborts on its own deadline, and a decision it already made
   * reaches the service with the COMMIT or ABORT it keeps re-sending.
   */
  private async latePrepare(command: Prepare): Promise<Handled> {
    let held: readonly string[];
    try {
      held = await this.options.service.inDoubt();
    } catch (error) {
      const reason = `PREPARE after its deadline ${command.payload.deadline}, and the service could not say whether it holds the work: ${describeError(error)}; not answering`;
      this.options.logger.warn(reason, { txId: command.txId });
      return { kind: 'silent', reason };
    }
    if (held.includes(command.txId)) {
      return {
        kind: 'reply',
        reply: this.replyTo(command, this.recordPrepareResult(command, { vote: 'YES' })),
      };
    }
    const reason = `PREPARE after its deadline ${command.payload.deadline}: no work started, not answering (the coordinator aborts on its own)`;
    this.options.logger.warn(reason, { txId: command.txId });
    return { kind: 'silent', reason };
  }

  /** Runs the service's prepare within `budgetMs`; a throw or an overrun is a NO with the reason. */
  private async prepare(command: Prepare, budgetMs: number): Promise<PrepareResult> {
    const { service, logger } = this.options;
    const controller = new AbortController();
    const work = service.prepare({
      txId: command.txId,
      work: command.payload.work,
      deadline: new Date(Date.parse(command.payload.deadline)),
      participants: command.payload.participants,
      signal: controller.signal,
    });
    let outcome;
    try {
      outcome = await withinBudget(work, budgetMs);
    } catch (error) {
      return { vote: 'NO', reason: `prepare failed: ${describeError(error)}` };
    }
    if (outcome.settled) return outcome.value;
    controller.abort(new Error(`prepare budget of ${budgetMs} ms exceeded`));
    // The service may still finish and hold the work prepared; the NO vote makes the coordinator
    // abort, and that ABORT must run after the prepare, so later work on this txId waits for it.
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.lingeringPrepares.set(command.txId, settled);
    void settled.then(() => {
      if (this.lingeringPrepares.get(command.txId) === settled) this.lingeringPrepares.delete(command.txId);
    });
    logger.warn('prepare exceeded its budget; voting NO', { txId: command.txId, budgetMs });
    return { vote: 'NO', reason: `prepare took longer than its budget of ${budgetMs} ms` };
  }

  private recordPrepareResult(command: ParticipantCommand, result: PrepareResult): PlannedReply {
    const { memory, now } = this.options;
    if ('decided' in result) {
      memory.recordOutcome(command.txId, command.term, result.decided);
      return { type: 'ACK', outcome: result.decided };
    }
    const vote: VoteRecord =
      result.vote === 'NO'
        ? { vote: 'NO', reason: truncate(result.reason, REASON_CHARS_MAX) }
        : { vote: result.vote };
    // A one-phase COMMIT carries no deadline; a PREPARE's is a validated ISO 8601 instant.
    const deadlineMs = command.type === 'PREPARE' ? Date.parse(command.payload.deadline) : null;
    memory.recordVote(command.txId, command.term, vote, now(), deadlineMs);
    return { type: 'VOTE', vote };
  }

  private async decideAndAck(command: ParticipantCommand, outcome: Outcome): Promise<Handled> {
    const reason = command.type === 'ABORT' ? command.payload.reason : undefined;
    try {
      await this.decide(command.txId, outcome, reason);
    } catch (error) {
      // No ACK: the coordinator re-sends the decision until the service manages to apply it.
      const detail = `${outcome} failed in the service: ${describeError(error)}`;
      this.options.logger.error(detail, { txId: command.txId, term: command.term });
      return { kind: 'silent', reason: detail };
    }
    this.options.memory.recordOutcome(command.txId, command.term, outcome);
    return { kind: 'reply', reply: this.replyTo(command, { type: 'ACK', outcome }) };
  }

  private decide(txId: string, outcome: Outcome, reason: string | undefined): Promise<void> {
    const request = { txId, outcome, ...(reason === undefined ? {} : { reason }) };
    return outcome === 'COMMIT' ? this.options.service.commit(request) : this.options.service.abort(request);
  }

  private replyTo(command: ParticipantCommand, planned: PlannedReply): ParticipantReply {
    const envelope = {
      v: PROTOCOL_VERSION,
      txId: command.txId,
      participant: this.options.participant,
      term: command.term,
      attempt: command.attempt,
      sentAt: new Date(this.options.now()).toISOString(),
    } as const;
    if (planned.type === 'ACK') return { ...envelope, type: 'ACK', payload: { outcome: planned.outcome } };
    return { ...envelope, type: 'VOTE', payload: planned.vote };
  }
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function truncate(text: string, charsMax: number): string {
  return text.length <= charsMax ? text : `${text.slice(0, charsMax - 1)}…`;
}
