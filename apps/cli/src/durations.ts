// Durations as people type and read them: `90s`, `5m`, `1h30m` in; `2m 10s` out.

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Parses one or more `<number><unit>` groups (`ms`, `s`, `m`, `h`, `d`) into milliseconds. A
 * bare number is refused: "5" could mean seconds or minutes, and a wrong guess lists the wrong
 * transactions.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  const group = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let match = group.exec(trimmed); match !== null; match = group.exec(trimmed)) {
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? Number.NaN);
    matched = group.lastIndex;
  }
  if (trimmed === '' || matched !== trimmed.length || !Number.isFinite(total)) {
    throw new Error(`"${text}" is not a duration; write it like 90s, 5m, 1h30m or 2d (units ms, s, m, h, d)`);
  }
  return Math.round(total);
}

/** 850ms, 12s, 2m 10s, 3h 5m, 2d 4h: two units at most, enough to compare ages at a glance. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  if (total < 1_000) return `${total}ms`;
  const seconds = Math.floor(total / 1_000);
  if (seconds < 60) return `${seconds}s`;
  const units: readonly [number, string][] = [
    [86_400, 'd'],
    [3_600, 'h'],
    [60, 'm'],
    [1, 's'],
  ];
  const parts: string[] = [];
  let rest = seconds;
  for (const [size, name] of units) {
    if (parts.length === 2) break;
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0 || parts.length > 0) parts.push(`${count}${name}`);
  }
  return parts.filter((part) => !part.startsWith('0')).join(' ');
}
