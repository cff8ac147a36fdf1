import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api, ClusterStatus, Session } from '../api';
import { TimeChart } from '../chart';
import { useNow, usePolling } from '../hooks';
import {
  chartSeries,
  formatAge,
  formatDuration,
  keepWindow,
  participantRows,
  sampleOf,
  type StatsSample,
} from '../logic';
import { BreakerBadge } from './widgets';

const POLL_MS = 2000;
/** The charts cover the last five minutes this page has been open. */
const CHART_WINDOW_MS = 5 * 60_000;

export function ClusterPage(props: { api: Api; session: Session; onError: (error: Error) => void }) {
  const now = useNow();
  const samples = useRef<readonly StatsSample[]>([]);
  const polled = usePolling(
    async () => {
      const status = await props.api.cluster();
      const atMs = Date.now();
      if (status.stats !== undefined)
        samples.current = keepWindow(samples.current, sampleOf(status.stats, atMs), CHART_WINDOW_MS);
      return { status, atMs };
    },
    POLL_MS,
    'cluster',
  );
  useEffect(() => {
    if (polled.error !== null) props.onError(polled.error);
  }, [polled.error]);
  const status = polled.data?.status ?? null;

  return (
    <section>
      <h1>Cluster</h1>
      {polled.error !== null && <p class="error">{polled.error.message}</p>}
      {status === null ? (
        polled.error === null && <p class="loading">Loading…</p>
      ) : (
        <ClusterView
          status={status}
          samples={samples.current}
          nowMs={now}
          api={props.api}
          session={props.session}
          onChanged={polled.refresh}
        />
      )}
    </section>
  );
}

function ClusterView(props: {
  status: ClusterStatus;
  samples: readonly StatsSample[];
  nowMs: number;
  api: Api;
  session: Session;
  onChanged: () => void;
}) {
  const { status } = props;
  const series = chartSeries(props.samples);
  const participants = participantRows(status);
  const isLeader = status.role === 'LEADER';
  const [transferTo, setTransferTo] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const transfer = (event: Event): void => {
    event.preventDefault();
    if (transferTo === null) return;
    setBusy(true);
    props.api.transferLeadership(transferTo).then(
      (after) => {
        setBusy(false);
        setTransferTo(null);
        setMessage(`Leadership handed over; ${after.leaderId ?? 'no node'} leads now.`);
        props.onChanged();
      },
      (failure: unknown) => {
        setBusy(false);
        setMessage(failure instanceof Error ? failure.message : String(failure));
      },
    );
  };

  return (
    <>
      <p class="leader" data-testid="leader">
        Leader: <b>{status.leaderId ?? 'none — an election is under way'}</b>
      </p>
      <p class="hint">
        This page is served by <b>{status.nodeId}</b> ({status.role}, term {status.term}, commit index{' '}
        {status.commitIndex}, applied index {status.appliedIndex}).
        {!isLeader && ' Lag and last contact are known on the leader only; open its console to see them.'}
      </p>

      <h2>Nodes</h2>
      <table class="list" data-testid="members">
        <thead>
          <tr>
            <th>Node</th>
            <th>Role</th>
            <th>Term</th>
            <th>Commit / applied index</th>
            <th>Replicated up to</th>
            <th>Lag</th>
            <th>Last contact</th>
            <th>Console</th>
            {props.session.role === 'operator' && <th />}
          </tr>
        </thead>
        <tbody>
          {status.members.map((member) => {
            const self = member.nodeId === status.nodeId;
            return (
              <tr data-node={member.nodeId} class={member.role === 'LEADER' ? 'is-leader' : ''}>
                <td>
                  {member.nodeId}
                  {self && ' (this node)'}
                </td>
                <td data-testid="member-role">{member.role}</td>
                <td>{self ? status.term : '—'}</td>
                <td>{self ? `${status.commitIndex} / ${status.appliedIndex}` : '—'}</td>
                <td>{member.matchIndex ?? '—'}</td>
                <td>{member.lag ?? '—'}</td>
                <td>{member.lastContactMs === null ? '—' : `${formatDuration(member.lastContactMs)} ago`}</td>
                <td>
                  {member.httpUrl == null || self ? '' : <a href={`${member.httpUrl}/console/`}>open</a>}
                </td>
                {props.session.role === 'operator' && (
                  <td>
                    {member.role !== 'LEADER' && status.leaderId !== null && (
                      <button class="quiet" onClick={() => setTransferTo(member.nodeId)}>
                        Make leader…
                      </button>
                    )}
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
      {transferTo !== null && (
        <form class="confirm" onSubmit={transfer}>
          <p>
            Hand leadership from {status.leaderId} to <b>{transferTo}</b>? Transactions keep going; clients
            see a short pause while the new leader takes over.
          </p>
          <div class="buttons">
            <button type="submit" disabled={busy}>
              Transfer leadership
            </button>
            <button type="button" class="quiet" onClick={() => setTransferTo(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {message !== null && <p class="hint">{message}</p>}

      <h2>Activity, last minutes</h2>
      {status.stats === undefined ? (
        <p class="hint">This node does not report transaction counters.</p>
      ) : (
        <>
          <p class="hint">
            In doubt now: <b data-testid="in-doubt">{status.stats.inDoubt}</b>
            {status.stats.oldestInDoubtMs !== null &&
              `, the oldest for ${formatDuration(status.stats.oldestInDoubtMs)}`}
            . Decisions applied on {status.nodeId} since it started: {status.stats.committed} COMMIT,{' '}
            {status.stats.aborted} ABORT.
          </p>
          <div class="charts">
            <TimeChart
              title="Transactions decided per second"
              label="decisions/s"
              times={series.times}
              values={series.decisionsPerSecond}
              color="#2563eb"
            />
            <TimeChart
              title="In-doubt transactions"
              label="in doubt"
              times={series.times}
              values={series.inDoubt}
              color="#d97706"
            />
          </div>
        </>
      )}

      <h2>Participants</h2>
      {participants.length === 0 ? (
        <p class="hint">No participant has been contacted by this node or replied to it yet.</p>
      ) : (
        <table class="list" data-testid="breakers">
          <thead>
            <tr>
              <th>Participant</th>
              <th>Breaker</th>
              <th>Since</th>
              <th>Last seen</th>
            </tr>
          </thead>
          <tbody>
            {participants.map((participant) => (
              <tr data-participant={participant.name}>
                <td>{participant.name}</td>
                <td>
                  {participant.breaker === null ? '—' : <BreakerBadge state={participant.breaker.state} />}
                </td>
                <td>{participant.breaker?.since ?? '—'}</td>
                <td data-testid="last-seen">
                  {participant.lastSeenAt === null
                    ? 'never'
                    : `${formatAge(participant.lastSeenAt, props.nowMs)} ago`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="hint">
        Last seen: when {status.nodeId} last read a reply (vote, ack or outcome query) from the participant
        since it started.
      </p>
    </>
  );
}
