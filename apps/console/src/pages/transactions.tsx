import { useEffect, useState } from 'preact/hooks';
import { TX_STATES, type Api, type ListFilter, type Transaction, type TxState } from '../api';
import { useNow, usePolling } from '../hooks';
import { describeStuck, formatAge, orderForList } from '../logic';
import { StateBadge, VoteChip } from './widgets';

const POLL_MS = 2000;

const AGES: readonly { readonly label: string; readonly olderThanMs: number | undefined }[] = [
  { label: 'any age', olderThanMs: undefined },
  { label: 'older than 1 minute', olderThanMs: 60_000 },
  { label: 'older than 5 minutes', olderThanMs: 300_000 },
  { label: 'older than 1 hour', olderThanMs: 3_600_000 },
];

const PARTICIPANT_NAME = /^[a-z0-9][a-z0-9._-]*$/i;

interface Filters {
  readonly state: TxState | '';
  readonly participant: string;
  readonly age: number;
  readonly stuckOnly: boolean;
}

function listFilter(filters: Filters, stuck: boolean | undefined): ListFilter {
  const age = AGES[filters.age]?.olderThanMs;
  const participant = filters.participant.trim();
  return {
    ...(filters.state !== '' && { state: filters.state }),
    ...(PARTICIPANT_NAME.test(participant) && { participant }),
    ...(age !== undefined && { olderThanMs: age }),
    ...(stuck !== undefined && { stuck }),
    limit: 100,
  };
}

export function TransactionsPage(props: { api: Api; onError: (error: Error) => void }) {
  const [filters, setFilters] = useState<Filters>({ state: '', participant: '', age: 0, stuckOnly: false });
  const now = useNow();
  // Stuck ones are fetched on their own, so they stay on top however many others there are.
  const polled = usePolling(
    async () => {
      const [stuck, others] = await Promise.all([
        props.api.list(listFilter(filters, true)),
        filters.stuckOnly ? Promise.resolve({ items: [] }) : props.api.list(listFilter(filters, undefined)),
      ]);
      return { items: orderForList(stuck.items, others.items), atMs: Date.now() };
    },
    POLL_MS,
    JSON.stringify(filters),
  );
  useEffect(() => {
    if (polled.error !== null) props.onError(polled.error);
  }, [polled.error]);
  const update = (change: Partial<Filters>): void => setFilters({ ...filters, ...change });
  const participantInvalid =
    filters.participant.trim() !== '' && !PARTICIPANT_NAME.test(filters.participant.trim());

  return (
    <section>
      <h1>Transactions</h1>
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          State
          <select
            name="state"
            value={filters.state}
            onChange={(event) => update({ state: event.currentTarget.value as TxState | '' })}
          >
            <option value="">any state</option>
            {TX_STATES.map((state) => (
              <option value={state}>{state}</option>
            ))}
          </select>
        </label>
        <label>
          Participant
          <input
            name="participant"
            placeholder="e.g. bank-a"
            value={filters.participant}
            onInput={(event) => update({ participant: event.currentTarget.value })}
            aria-invalid={participantInvalid}
          />
        </label>
        <label>
          Age
          <select
            name="age"
            value={filters.age}
            onChange={(event) => update({ age: Number(event.currentTarget.value) })}
          >
            {AGES.map((age, position) => (
              <option value={position}>{age.label}</option>
            ))}
          </select>
        </label>
        <label class="check">
          <input
            type="checkbox"
            name="stuckOnly"
            checked={filters.stuckOnly}
            onChange={(event) => update({ stuckOnly: event.currentTarget.checked })}
          />
          stuck only
        </label>
        <span class="live" title="the list reloads every 2 seconds">
          {polled.data === null
            ? 'loading…'
            : `live · updated ${formatAge(new Date(polled.data.atMs).toISOString(), now)} ago`}
        </span>
      </form>
      {participantInvalid && <p class="error">A participant name is letters, digits, '.', '_' and '-'.</p>}
      {polled.error !== null && <p class="error">{polled.error.message}</p>}
      {polled.data !== null && <TransactionTable items={polled.data.items} nowMs={now} />}
    </section>
  );
}

function TransactionTable(props: { items: readonly Transaction[]; nowMs: number }) {
  if (props.items.length === 0) return <p class="empty">No live transaction matches these filters.</p>;
  return (
    <table class="list" data-testid="transactions">
      <thead>
        <tr>
          <th>Transaction</th>
          <th>State</th>
          <th>Participants</th>
          <th>Age</th>
          <th>Why it is stuck</th>
        </tr>
      </thead>
      <tbody>
        {props.items.map((tx) => {
          const why = describeStuck(tx, props.nowMs);
          return (
            <tr key={tx.id} class={why === null ? '' : 'stuck'} data-txid={tx.id}>
              <td class="nowrap">
                <a class="mono" href={`#/transactions/${tx.id}`} title={tx.id}>
                  {tx.id.slice(0, 8)}…{tx.id.slice(-4)}
                </a>
              </td>
              <td>
                <StateBadge state={tx.state} />
              </td>
              <td>
                {tx.participants.map((participant) => (
                  <VoteChip participant={participant} />
                ))}
              </td>
              <td class="nowrap">{formatAge(tx.createdAt, props.nowMs)}</td>
              <td class="reason" data-testid="stuck-reason">
                {why ?? ''}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
