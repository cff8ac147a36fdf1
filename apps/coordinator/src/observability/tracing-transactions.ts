import {
  context as otelContext,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Outcome, ParticipantCommand, ParticipantReply } from '@verdict/protocol';

/** The instrumentation scope of every span the coordinator makes. */
export const COORDINATOR_TRACER_NAME = 'verdict-coordinator';

/** Span attributes, one spelling for the coordinator and the participant SDK. */
export const ATTRIBUTE_TX_ID = 'verdict.tx.id';
export const ATTRIBUTE_PARTICIPANT = 'verdict.participant';

/**
 * Transactions traced at once. Each costs a few spans' memory; past the limit the oldest trace
 * is ended (marked so) rather than letting a leader with a huge backlog grow without bound.
 */
export const TRACED_TRANSACTIONS_MAX = 10_000;
/**
 * A trace with no command, reply or end for this long is ended. That happens to a transaction
 * this leader only answered about (an OUTCOME_QUERY for a transaction it has no record of): it
 * never sees that transaction end.
 */
export const TRACE_IDLE_MS_MAX = 10 * 60_000;

/** Where the cluster host tells tracing about a transaction's life on this leader. */
export interface TransactionTracingHooks {
  /** A BEGIN was committed; called in the context of the request that asked for it. */
  begun(txId: string): void;
  /** Every participant acknowledged (or none had to): the transaction leaves this leader. */
  finished(txId: string, outcome: Outcome): void;
  /**
   * The leader's engine state was dropped: leadership lost, or reset after a failed proposal. The
   * leader that carries on (maybe this node again) resumes the transactions in new traces.
   */
  leadershipLost(): void;
}

type PhaseName = 'prepare' | 'commit' | 'abort';

interface ParticipantSpan {
  readonly span: Span;
  answered: boolean;
}

interface Phase {
  readonly name: PhaseName;
  readonly span: Span;
  readonly context: Context;
  readonly participants: Map<string, ParticipantSpan>;
}

interface TransactionTrace {
  readonly span: Span;
  readonly context: Context;
  readonly traceId: string;
  phase: Phase | null;
  lastActivityMs: number;
}

export interface TransactionTracingOptions {
  readonly nodeId: string;
  /** Wall clock in epoch milliseconds (idle traces). */
  readonly clock: () => number;
  readonly transactionsMax?: number;
  readonly idleMsMax?: number;
}

const PHASE_OF_COMMAND: Readonly<Record<ParticipantCommand['type'], PhaseName>> = {
  PREPARE: 'prepare',
  COMMIT: 'commit',
  ABORT: 'abort',
};

const propagator = new W3CTraceContextPropagator();

/** The W3C traceparent of `span`, or null for a span with no valid context (the no-op tracer's). */
export function traceparentOfSpan(span: Span): string | null {
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  return carrier['traceparent'] ?? null;
}

/**
 * One trace per transaction on the leader, built from what the host and the participant channel
 * see, so the pure engine knows nothing of it:
 *
 *   transaction                       begun() → finished(); child of the BEGIN request's span
 *   ├─ prepare                        first PREPARE sent → first COMMIT/ABORT sent (or the end)
 *   │  └─ PREPARE <participant>       first PREPARE to it → its VOTE; re-sends are span events
 *   └─ commit | abort                 first COMMIT/ABORT sent → last ACK (or the end)
 *      └─ COMMIT|ABORT <participant>  first decision to it → its ACK
 *
 * A participant span's traceparent travels on each command to that participant, so the
 * participant's own span is its child. A transaction this leader did not begin (it took over
 * after a leader change) gets a new root span named `transaction` with `verdict.tx.resumed`
 * true: the first leader's trace id is not replicated, so the two traces share only the
 * `verdict.tx.id` attribute.
 */
export class TransactionTracing implements TransactionTracingHooks {
  /** In order of last activity, oldest first (an entry is re-inserted when touched). */
  private readonly transactions = new Map<string, TransactionTrace>();
  private readonly transactionsMax: number;
  private readonly idleMsMax: number;

  constructor(
    private readonly tracer: Tracer,
    private readonly options: TransactionTracingOptions,
  ) {
    this.transactionsMax = options.transactionsMax ?? TRACED_TRANSACTIONS_MAX;
    this.idleMsMax = options.idleMsMax ?? TRACE_IDLE_MS_MAX;
    if (!(this.transactionsMax >= 1))
      throw new Error(`transactionsMax must be at least 1, got ${this.transactionsMax}`);
  }

  /** Transactions with a trace open on this node. */
  get size(): number {
    return this.transactions.size;
  }

  /** The trace id of a transaction traced here, for log lines about it. */
  traceIdOf(txId: string): string | null {
    return this.transactions.get(txId)?.traceId ?? null;
  }

  begun(txId: string): void {
    // An idempotent repeat of BEGIN names a transaction already traced.
    if (this.transactions.has(txId)) return;
    this.open(txId, otelContext.active(), false);
  }

  finished(txId: string, outcome: Outcome): void {
    const transaction = this.transactions.get(txId);
    if (transaction === undefined) return;
    this.transactions.delete(txId);
    transaction.span.setAttribute('verdict.outcome', outcome);
    this.close(transaction, null);
  }

  leadershipLost(): void {
    const open = [...this.transactions.values()];
    this.transactions.clear();
    for (const transaction of open) {
      this.close(
        transaction,
        'the leader state was dropped (leadership lost, or reset after a failed proposal); the transaction goes on in a resumed trace',
      );
    }
  }

  /**
   * A command is about to be sent: opens its phase and participant spans as needed and returns
   * the traceparent to send with it (that of the participant's span in this phase).
   */
  commandSent(command: ParticipantCommand): string | null {
    const transaction = this.touch(command.txId) ?? this.open(command.txId, ROOT_CONTEXT, true);
    const phaseName = PHASE_OF_COMMAND[command.type];
    let phase = transaction.phase;
    if (phase === null || phase.name !== phaseName) {
      if (phase !== null) this.endPhase(phase);
      const span = this.tracer.startSpan(
        phaseName,
        { kind: SpanKind.INTERNAL, attributes: { [ATTRIBUTE_TX_ID]: command.txId } },
        transaction.context,
      );
      phase = {
        name: phaseName,
        span,
        context: trace.setSpan(transaction.context, span),
        participants: new Map(),
      };
      transaction.phase = phase;
    }
    let participant = phase.participants.get(command.participant);
    if (participant === undefined) {
      const span = this.tracer.startSpan(
        `${command.type} ${command.participant}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            [ATTRIBUTE_TX_ID]: command.txId,
            [ATTRIBUTE_PARTICIPANT]: command.participant,
            'verdict.term': command.term,
            'messaging.system': 'kafka',
            'messaging.operation.type': 'send',
            'messaging.destination.name': `verdict.participant.${command.participant}`,
          },
        },
        phase.context,
      );
      participant = { span, answered: false };
      phase.participants.set(command.participant, participant);
    } else if (!participant.answered) {
      participant.span.addEvent('resent', { 'verdict.attempt': command.attempt });
    }
    return traceparentOfSpan(participant.span);
  }

  /** A VOTE or ACK arrived: ends that participant's span, and the decision phase after its last ACK. */
  replyReceived(reply: ParticipantReply): void {
    if (reply.type === 'OUTCOME_QUERY') return;
    const transaction = this.touch(reply.txId);
    const phase = transaction?.phase;
    if (transaction === undefined || phase === null || phase === undefined) return;
    if (reply.type === 'VOTE' && phase.name !== 'prepare') return;
    if (reply.type === 'ACK' && phase.name === 'prepare') return;
    const participant = phase.participants.get(reply.participant);
    if (participant === undefined || participant.answered) return;
    participant.answered = true;
    if (reply.type === 'VOTE') {
      participant.span.setAttribute('verdict.vote', reply.payload.vote);
      if (reply.payload.reason !== undefined)
        participant.span.setAttribute('verdict.vote.reason', reply.payload.reason);
    } else {
      participant.span.setAttribute('verdict.outcome', reply.payload.outcome);
    }
    participant.span.end();
    if (phase.name !== 'prepare' && [...phase.participants.values()].every((each) => each.answered)) {
      this.endPhase(phase);
      transaction.phase = null;
    }
  }

  private open(txId: string, parent: Context, resumed: boolean): TransactionTrace {
    this.evict();
    const span = this.tracer.startSpan(
      'transaction',
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          [ATTRIBUTE_TX_ID]: txId,
          'verdict.node.id': this.options.nodeId,
          'verdict.tx.resumed': resumed,
        },
      },
      parent,
    );
    const transaction: TransactionTrace = {
      span,
      context: trace.setSpan(parent, span),
      traceId: span.spanContext().traceId,
      phase: null,
      lastActivityMs: this.options.clock(),
    };
    this.transactions.set(txId, transaction);
    return transaction;
  }

  private touch(txId: string): TransactionTrace | undefined {
    const transaction = this.transactions.get(txId);
    if (transaction === undefined) return undefined;
    this.transactions.delete(txId);
    this.transactions.set(txId, transaction);
    transaction.lastActivityMs = this.options.clock();
    return transaction;
  }

  /** Ends the least recently active traces while there are too many or they went idle. */
  private evict(): void {
    const nowMs = this.options.clock();
    for (const [txId, transaction] of this.transactions) {
      const full = this.transactions.size >= this.transactionsMax;
      const idle = nowMs - transaction.lastActivityMs > this.idleMsMax;
      if (!full && !idle) return;
      this.transactions.delete(txId);
      this.close(
        transaction,
        full
          ? `more than ${this.transactionsMax} transactions traced at once; this trace was ended early`
          : `nothing happened to this transaction on this node for ${this.idleMsMax} ms`,
      );
    }
  }

  private close(transaction: TransactionTrace, unfinished: string | null): void {
    if (transaction.phase !== null) this.endPhase(transaction.phase);
    transaction.phase = null;
    if (unfinished !== null) transaction.span.setStatus({ code: SpanStatusCode.ERROR, message: unfinished });
    transaction.span.end();
  }

  private endPhase(phase: Phase): void {
    for (const participant of phase.participants.values()) {
      if (participant.answered) continue;
      participant.answered = true;
      participant.span.setStatus({
        code: SpanStatusCode.ERROR,
        message:
          phase.name === 'prepare' ? 'no vote before the phase ended' : 'no acknowledgement on this leader',
      });
      participant.span.end();
    }
    phase.span.end();
  }
}
