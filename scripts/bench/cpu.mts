// Who eats the cores: CPU seconds of a process and its descendants from /proc/<pid>/stat, and the
// process that listens on a TCP port (how Kafka and PostgreSQL are found without their pids).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProcessTimes {
  readonly ppid: number;
  /** Clock ticks spent by the process itself (every thread). */
  readonly ownTicks: number;
  /** Clock ticks of its children that ended and were waited for. */
  readonly reapedChildrenTicks: number;
}

/** Fields of /proc/<pid>/stat; the command name may hold spaces and parentheses, so the rest is read after its last ')'. */
export function parseProcStat(text: string): ProcessTimes {
  const rest = text
    .slice(text.lastIndexOf(')') + 2)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
  const field = (number: number): number => {
    const value = Number(rest[number - 3]);
    if (!Number.isFinite(value)) throw new Error(`/proc stat field ${number} is not a number: ${text}`);
    return value;
  };
  return { ppid: field(4), ownTicks: field(14) + field(15), reapedChildrenTicks: field(16) + field(17) };
}

const CLOCK_TICKS_PER_SECOND = ((): number => {
  const answer = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const value = Number(answer.stdout?.trim());
  return answer.status === 0 && Number.isInteger(value) && value > 0 ? value : 100;
})();

function readTimes(pid: number): ProcessTimes | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    // Gone: it ended between the listing and the read.
    return null;
  }
}

/**
 * CPU seconds of `pid` and everything under it, counting ended children through the parent's
 * reaped-children times; that sum only grows, so a before/after difference is the CPU used in
 * between (less what a child used and took with it when it ended unreaped). null: no such process.
 */
export function treeCpuSeconds(pid: number): number | null {
  const root = readTimes(pid);
  if (root === null) return null;
  const children = new Map<number, number[]>();
  const times = new Map<number, ProcessTimes>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const found = readTimes(Number(entry));
    if (found === null) continue;
    times.set(Number(entry), found);
    const siblings = children.get(found.ppid) ?? [];
    siblings.push(Number(entry));
    children.set(found.ppid, siblings);
  }
  let ticks = 0;
  const pending = [pid];
  const seen = new Set<number>();
  while (pending.length > 0) {
    const next = pending.pop() as number;
    if (seen.has(next)) continue;
    seen.add(next);
    const own = next === pid ? root : times.get(next);
    if (own === undefined) continue;
    ticks += own.ownTicks + own.reapedChildrenTicks;
    pending.push(...(children.get(next) ?? []));
  }
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/** This process alone: its children are measured as processes of their own. */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** Socket inodes listening on `port` (IPv4 and IPv6) from /proc/net/tcp{,6}. */
export function listeningInodes(tables: readonly string[], port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of tables) {
    for (const line of table.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      // local_address is column 1 ("0100007F:2382"), st is column 3 (0A = LISTEN), inode column 9.
      if (columns[1]?.endsWith(`:${hexPort}`) === true && columns[3] === '0A' && columns[9] !== undefined) {
        inodes.add(columns[9]);
      }
    }
  }
  return inodes;
}

/** The pid that holds a socket listening on `port`, or null (not on this machine, or not ours to see). */
export function pidListeningOn(port: number): number | null {
  const tables = ['/proc/net/tcp', '/proc/net/tcp6'].map((path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  });
  const inodes = listeningInodes(tables, port);
  if (inodes.size === 0) return null;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let descriptors: string[];
    try {
      descriptors = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const descriptor of descriptors) {
      try {
        const target = readlinkSync(`/proc/${entry}/fd/${descriptor}`);
        if (target.startsWith('socket:[') && inodes.has(target.slice(8, -1))) return Number(entry);
      } catch {
        // Closed meanwhile.
      }
    }
  }
  return null;
}
