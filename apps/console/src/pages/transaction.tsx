import { useEffect, useState } from 'preact/hooks';
import type { Api, Session, Transaction } from '../api';
import { useNow, usePolling } from '../hooks';
import { describeStuck, formatAge, safeActions, timelineOf } from '../logic';
import { BreakerBadge, StateBadge } from './widgets';

const POLL_MS = 2000;
/** The coordinator's limit on a resolution reason (REASON_LENGTH_MAX). */
const REASON_CHARS_MAX = 500;

type Pending =
  { readonly kind: 'resolve'; readonly outcome: 'commit' | 'abort' } | { readonly kind: 'retry' };

export function TransactionPage(props: {
  api: Api;
  txId: string;
  session: Session;
  onError: (error: Error) => void;
}) {
  const now = useNow();
  const polled = usePolling(() => props.api.transaction(props.txId), POLL_MS, props.txId);
  useEffect(() => {
    if (polled.error !== null) props.onError(polled.error);
  }, [polled.error]);
  const tx = polled.data;

  return (
    <section>
      <p>
        <a href="#/transactions">← all transactions</a>
      </p>
      <h1 class="mono" data-testid="tx-id">
        {props.txId}
      </h1>
      {polled.error !== null && <p class="error">{polled.error.message}</p>}
      {tx === null ? (
        polled.error === null && <p class="loading">Loading…</p>
      ) : (
        <TransactionView tx={tx} nowMs={now} {...props} onChanged={polled.refresh} />
      )}
    </section>
  );
}

function TransactionView(props: {
  tx: Transaction;
  nowMs: number;
  api: Api;
  session: Session;
  onChanged: () => void;
}) {
  const { tx, nowMs } = props;
  const why = describeStuck(tx, nowMs);
  const actions = safeActions(tx, props.session.role);
  const [pending, setPending] = useState<Pending | null>(null);

  return (
    <>
      <dl class="facts">
        <dt>State</dt>
        <dd data-testid="tx-state">
          <StateBadge state={tx.state} />
        </dd>
        <dt>Created</dt>
        <dd>
          {tx.createdAt} ({formatAge(tx.createdAt, nowMs)} ago)
        </dd>
        <dt>Prepare deadline</dt>
        <dd>{tx.deadline}</dd>
        <dt>Decision</dt>
        <dd data-testid="tx-decision">
          {tx.decision === null
            ? 'none yet'
            : `${tx.decision.outcome} at Raft index ${tx.decision.raftIndex}, term ${tx.decision.raftTerm}: ${tx.decision.reason}` +
              (tx.decision.resolvedBy === null ? '' : ` (resolved by ${tx.decision.resolvedBy})`)}
        </dd>
        {tx.finishedAt !== null && (
          <>
            <dt>Finished</dt>
            <dd>{tx.finishedAt}</dd>
          </>
        )}
        {Object.keys(tx.metadata).length > 0 && (
          <>
            <dt>Metadata</dt>
            <dd class="mono">{JSON.stringify(tx.metadata)}</dd>
          </>
        )}
      </dl>
      {why !== null && (
        <p class="stuck-banner" data-testid="stuck-banner">
          <b>Stuck:</b> {why}
        </p>
      )}

      <h2>Participants</h2>
      <div class="participants">
        {tx.participants.map((participant) => (
          <div class="card" data-participant={participant.name}>
            <h3>{participant.name}</h3>
            <p>
              Vote: <b>{participant.vote ?? 'none yet'}</b>
              {participant.voteReason !== null && ` (${participant.voteReason})`}
            </p>
            <p>
              Acknowledged:{' '}
              <b>{participant.ack ? `yes, ${formatAge(participant.ackedAt, nowMs)} ago` : 'no'}</b>
            </p>
            <p>Attempts in this phase: {participant.attempts}</p>
            {participant.lastError !== null && <p class="error">Last error: {participant.lastError}</p>}
            <BreakerBadge state={participant.breaker} />
          </div>
        ))}
      </div>

      {props.session.role === 'operator' && (
        <Actions
          tx={tx}
          actions={actions}
          pending={pending}
          setPending={setPending}
          api={props.api}
          onChanged={props.onChanged}
        />
      )}

      <h2>Timeline</h2>
      <table class="timeline" data-testid="timeline">
        <thead>
          <tr>
            <th>When</th>
            <th>What</th>
            <th>Participant</th>
            <th>Detail</th>
            <th>Raft index / term</th>
            <th>By</th>
          </tr>
        </thead>
        <tbody>
          {timelineOf(tx).map((event) => (
            <tr class={`event-${event.kind.toLowerCase()}`}>
              <td class="mono" title={event.at}>
                {event.at.slice(11, 23)}
              </td>
              <td>{event.kind}</td>
              <td>{event.participant ?? ''}</td>
              <td>{event.detail}</td>
              <td class="mono">
                {event.raftIndex === null ? '' : `${event.raftIndex} / ${event.raftTerm ?? '?'}`}
              </td>
              <td class="mono">{event.actor ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Actions(props: {
  tx: Transaction;
  actions: ReturnType<typeof safeActions>;
  pending: Pending | null;
  setPending: (pending: Pending | null) => void;
  api: Api;
  onChanged: () => void;
}) {
  const { actions, pending, setPending } = props;
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const none = !actions.resolveAbort && !actions.resolveCommit && !actions.retryPhaseTwo;

  const open = (next: Pending): void => {
    setPending(next);
    setReason('');
    setError(null);
  };
  const submit = (event: Event): void => {
    event.preventDefault();
    if (pending === null) return;
    setBusy(true);
    const call =
      pending.kind === 'retry'
        ? props.api.retry(props.tx.id, reason.trim())
        : props.api.resolve(props.tx.id, pending.outcome, reason.trim());
    call.then(
      () => {
        setBusy(false);
        setPending(null);
        props.onChanged();
      },
      (failure: unknown) => {
        setBusy(false);
        setError(failure instanceof Error ? failure.message : String(failure));
      },
    );
  };

  return (
    <section class="actions" data-testid="actions">
      <h2>Actions</h2>
      {none && (
        <p class="hint">
          Nothing is safe to do by hand now:{' '}
          {props.tx.decision === null
            ? 'no decision is needed yet'
            : 'the decision is recorded and delivered or being delivered'}
          .
        </p>
      )}
      <div class="buttons">
        {actions.resolveAbort && (
          <button class="danger" onClick={() => open({ kind: 'resolve', outcome: 'abort' })}>
            Resolve as ABORT…
          </button>
        )}
        {actions.resolveCommit && (
          <button class="danger" onClick={() => open({ kind: 'resolve', outcome: 'commit' })}>
            Resolve as COMMIT…
          </button>
        )}
        {actions.retryPhaseTwo && (
          <button onClick={() => open({ kind: 'retry' })}>Retry phase two now…</button>
        )}
      </div>
      {actions.commitWithheld !== null && (
        <p class="hint" data-testid="commit-withheld">
          COMMIT is not offered: {actions.commitWithheld}.
        </p>
      )}
      {pending !== null && (
        <form class="confirm" onSubmit={submit} data-testid="action-form">
          {pending.kind === 'resolve' ? (
            <p>
              Record <b>{pending.outcome.toUpperCase()}</b> for this transaction. It is final: every
              participant will be driven to it. The reason and your key's name are recorded with the decision.
            </p>
          ) : (
            <p>
              Re-send {props.tx.decision?.outcome ?? 'the decision'} now to every participant that has not
              acknowledged it. The reason and your key's name are recorded on the RETRY event of the timeline.
            </p>
          )}
          <label>
            Reason
            <textarea
              name="reason"
              required
              maxLength={REASON_CHARS_MAX}
              value={reason}
              onInput={(event) => setReason(event.currentTarget.value)}
              placeholder={
                pending.kind === 'resolve'
                  ? 'e.g. bank-b confirmed by phone that the transfer never reached its ledger'
                  : 'e.g. bank-b is back after its database failover'
              }
            />
          </label>
          <div class="buttons">
            <button type="submit" disabled={busy || reason.trim() === ''}>
              {pending.kind === 'resolve' ? `Record ${pending.outcome.toUpperCase()}` : 'Retry now'}
            </button>
            <button type="button" class="quiet" onClick={() => setPending(null)}>
              Cancel
            </button>
          </div>
          {error !== null && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
        </form>
      )}
    </section>
  );
}
