import type { LogLevel as NestLogLevel } from '@nestjs/common';
import type { LogLevel } from './config/environment';

const NEST_LEVELS_BY_SEVERITY: readonly NestLogLevel[] = [
  'fatal',
  'error',
  'warn',
  'log',
  'debug',
  'verbose',
];
const SEVERITY: Record<LogLevel, number> = { fatal: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 };

/** Nest's levels at or above LOG_LEVEL (`info` is Nest's `log`, `trace` its `verbose`). */
export function nestLogLevels(level: LogLevel): NestLogLevel[] {
  return NEST_LEVELS_BY_SEVERITY.slice(0, SEVERITY[level] + 1);
}
