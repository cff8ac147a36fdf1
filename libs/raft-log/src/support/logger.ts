/**
 * The narrow logging port storage and transport write to. Hosts adapt their logger (pino, Nest)
 * to it; tests capture lines. `fields` carries structured context (file, offset, peer).
 */
export interface RaftLogLogger {
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** For callers that explicitly want no output (benchmarks). */
export const silentLogger: RaftLogLogger = {
  info: () => undefined,
  warn: () => undefined,
};
