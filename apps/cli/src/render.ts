// Text for people: tables without borders (columns line up and ids copy cleanly) and a timeline
// read top to bottom. Pure functions of the data and `now`, so the specs pin the exact output.
import Table from 'cli-table3';
import type { Breaker, ClusterStatus, Decision, TimelineEvent, Transaction, TransactionPage } from './api';
import { formatDuration } from './durations';
import { describeDecision } from './errors';
import type { ParticipantSummary } from './participants';

export interface RenderOptions {
  readonly now: Date;
  /** Terminal columns to wrap long text to; null when not writing to a terminal (no wrapping). */
  readonly width: number | null;
}

const NONE = '-';
const COLUMN_GAP = '  ';

function table(head: readonly string[], colWidths?: readonly (number | null)[]): Table.Table {
  return new Table({
    head: [...head],
    ...(colWidths !== undefined && { colWidths: [...colWidths], wordWrap: true, wrapOnWordBoundary: true }),
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: COLUMN_GAP,
    },
    // No colours: the output is the same in a terminal, a pipe and a test.
    style: { 'padding-left': 0, 'padding-right': 0, head: [], border: [], compact: true },
  });
}

function tableText(rendered: Table.Table): string {
  return rendered
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}

function age(iso: string, now: Date): string {
  const at = Date.parse(iso);
  return Number.isNaN(at) ? iso : formatDuration(now.getTime() - at);
}

/** ISO instant as `2026-11-25 13:02:01.123Z`: sortable, UTC, readable. */
export function formatInstant(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  return at.toISOString().replace('T', ' ');
}

function participantLine(participant: Transaction['participants'][number]): string {
  const vote = participant.vote ?? 'no vote';
  return participant.ack ? `${participant.name} ${vote} acked` : `${participant.name} ${vote}`;
}

function decisionCell(decision: Decision | null): string {
  return decision === null ? NONE : `${decision.outcome} @${decision.raftIndex}`;
}

export function renderTransactionList(page: TransactionPage, options: RenderOptions): string {
  if (page.items.length === 0) return 'No transactions match.';
  const head = ['ID', 'STATE', 'AGE', 'PARTICIPANTS', 'DECISION', 'STUCK'];
  const rows = page.items.map((tx) => [
    tx.id,
    tx.state,
    age(tx.createdAt, options.now),
    tx.participants.length === 0 ? NONE : tx.participants.map(participantLine).join('\n'),
    decisionCell(tx.decision),
    tx.stuck === null ? NONE : tx.stuck.reason,
  ]);
  const rendered = table(head, columnWidthsWrappingLast(head, rows, options.width));
  rendered.push(...rows);
  const stuck = page.items.filter((tx) => tx.stuck !== null).length;
  const lines = [tableText(rendered), '', `${page.items.length} shown, ${stuck} stuck.`];
  if (page.nextCursor !== null) {
    lines.push(`More match: raise --limit or pass --cursor ${page.nextCursor}`);
  }
  return lines.join('\n');
}

/**
 * Widths that let every column but the last keep its natural width and wrap the last one (a
 * free-text reason) to the terminal; undefined (no wrapping) without a terminal.
 */
function columnWidthsWrappingLast(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  width: number | null,
): (number | null)[] | undefined {
  if (width === null) return undefined;
  const natural = head.map((title, column) =>
    Math.max(
      title.length,
      ...rows.map((row) => Math.max(...(row[column] ?? '').split('\n').map((line) => line.length))),
    ),
  );
  const fixed = natural.slice(0, -1);
  const used = fixed.reduce((sum, each) => sum + each, 0) + COLUMN_GAP.length * fixed.length;
  const last = Math.max(20, width - used);
  return [...fixed, Math.min(last, natural.at(-1) ?? last)];
}

function decisionText(decision: Decision | null): string {
  if (decision === null) return 'none yet';
  return `${describeDecision(decision)} (decided ${formatInstant(decision.decidedAt)})`;
}

export function renderTransaction(tx: Transaction, options: RenderOptions): string {
  const metadata = Object.entries(tx.metadata).map(([key, value]) => `${key}=${value}`);
  const header = table([]);
  header.push(
    ['state', tx.state],
    ...(tx.stuck === null
      ? []
      : [['stuck', `${tx.stuck.reason} (since ${formatInstant(tx.stuck.since)})`] as string[]]),
    ['created', `${formatInstant(tx.createdAt)} (${age(tx.createdAt, options.now)} ago)`],
    ['deadline', formatInstant(tx.deadline)],
    ['decision', decisionText(tx.decision)],
    ['finished', tx.finishedAt === null ? 'not yet' : formatInstant(tx.finishedAt)],
    ['metadata', metadata.length === 0 ? NONE : metadata.join(', ')],
  );
  const lines = [`Transaction ${tx.id}`, indent(tableText(header)), '', 'Participants'];
  if (tx.participants.length === 0) {
    lines.push('  none enlisted');
  } else {
    const participants = table(['NAME', 'VOTE', 'ACK', 'ATTEMPTS', 'BREAKER', 'LAST ERROR']);
    participants.push(
      ...tx.participants.map((participant) => [
        participant.name,
        participant.vote === null
          ? 'none'
          : participant.vote + (participant.voteReason === null ? '' : `: ${participant.voteReason}`),
        participant.ack ? `yes ${formatInstant(participant.ackedAt ?? '')}`.trim() : 'no',
        String(participant.attempts),
        participant.breaker,
        participant.lastError ?? NONE,
      ]),
    );
    lines.push(indent(tableText(participants)));
  }
  lines.push('', 'Timeline', renderTimeline(tx.timeline));
  return lines.join('\n');
}

/**
 * One event a line, oldest first: the time, the time since the first event, what happened, to
 * whom, and where it sits in the Raft log when it is a replicated entry. Nodes older than the
 * timeline send none; the CLI says so instead of showing an empty story.
 */
export function renderTimeline(events: readonly TimelineEvent[] | undefined): string {
  if (events === undefined) {
    return '  (this coordinator node does not report timelines; it predates them)';
  }
  if (events.length === 0) return '  (no events recorded)';
  const first = Date.parse(events[0]?.at ?? '');
  const rendered = table(['AT (UTC)', 'SINCE BEGIN', 'EVENT', 'PARTICIPANT', 'DETAIL', 'RAFT']);
  rendered.push(
    ...events.map((event) => {
      const at = Date.parse(event.at);
      const detail =
        event.actor === null || event.actor === undefined
          ? event.detail
          : `${event.detail} (by ${event.actor})`;
      return [
        formatInstant(event.at),
        Number.isNaN(at) || Number.isNaN(first) ? NONE : `+${formatDuration(at - first)}`,
        event.kind,
        event.participant ?? NONE,
        detail,
        raftPosition(event.raftIndex, event.raftTerm),
      ];
    }),
  );
  return indent(tableText(rendered));
}

function raftPosition(index: number | null | undefined, term: number | null | undefined): string {
  if (index === null || index === undefined) return NONE;
  return term === null || term === undefined ? `index ${index}` : `index ${index}, term ${term}`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : `  ${line}`))
    .join('\n');
}

/** `answeredBy` notes when the view is a leader's reached through the node the user named. */
export function renderClusterStatus(status: ClusterStatus, answeredBy: string | null): string {
  const lines = [
    `Cluster as node ${status.nodeId} (${status.role}) sees it${answeredBy === null ? '' : `, ${answeredBy}`}`,
    `  leader        ${status.leaderId ?? 'none: no leader elected now; writes and reads wait for one'}`,
    `  term          ${status.term}`,
    `  commit index  ${status.commitIndex}`,
    `  applied index ${status.appliedIndex}`,
  ];
  if (status.stats !== undefined) {
    const oldest = status.stats.oldestInDoubtMs;
    lines.push(
      `  decisions     ${status.stats.committed} COMMIT, ${status.stats.aborted} ABORT since this node started`,
      `  in doubt      ${status.stats.inDoubt}${oldest === null ? '' : ` (oldest ${formatDuration(oldest)})`}`,
    );
  }
  const members = table(['NODE', 'ROLE', 'MATCH INDEX', 'LAG', 'LAST CONTACT', 'HTTP']);
  members.push(
    ...status.members.map((member) => [
      member.nodeId,
      member.role,
      member.matchIndex === null ? NONE : String(member.matchIndex),
      member.lag === null ? NONE : String(member.lag),
      member.lastContactMs === null ? NONE : `${formatDuration(member.lastContactMs)} ago`,
      member.httpUrl ?? NONE,
    ]),
  );
  lines.push('', 'Members', indent(tableText(members)));
  if (status.role !== 'LEADER') {
    lines.push('  (match index, lag and last contact are known on the leader only)');
  }
  lines.push('', 'Breakers', renderBreakers(status.breakers));
  return lines.join('\n');
}

function renderBreakers(breakers: readonly Breaker[]): string {
  if (breakers.length === 0) return '  none yet (a breaker appears once a participant was sent a command)';
  const rendered = table(['PARTICIPANT', 'STATE', 'SINCE']);
  rendered.push(
    ...breakers.map((breaker) => [breaker.participant, breaker.state, formatInstant(breaker.since)]),
  );
  return indent(tableText(rendered));
}

export function renderParticipants(
  summaries: readonly ParticipantSummary[],
  sampled: number,
  options: RenderOptions,
): string {
  if (summaries.length === 0) {
    return 'No participants known: no breaker on the leader and none in the newest transactions.';
  }
  const rendered = table(['PARTICIPANT', 'BREAKER', 'BREAKER SINCE', 'IN DOUBT', 'STUCK', 'LAST SEEN']);
  rendered.push(
    ...summaries.map((summary) => [
      summary.name,
      summary.breaker?.state ?? NONE,
      summary.breaker === null ? NONE : `${formatInstant(summary.breaker.since)}`,
      String(summary.inDoubt),
      String(summary.stuck),
      summary.lastSeenAt === null ? NONE : `${age(summary.lastSeenAt, options.now)} ago`,
    ]),
  );
  return [
    tableText(rendered),
    '',
    `IN DOUBT and STUCK count the newest ${sampled} transactions. LAST SEEN is when the coordinator ` +
      'last read a reply (vote, ack or outcome query) from the participant; - if none since it started.',
  ].join('\n');
}
