import { logLevel, type logCreator } from 'kafkajs';
import type { ParticipantLogger } from './service';

/** One JSON line per event on stdout: what the SDK logs when the service gives no logger. */
export function jsonLineLogger(participant: string): ParticipantLogger {
  const write =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      process.stdout.write(
        `${JSON.stringify({ time: new Date().toISOString(), level, participant, message, ...fields })}\n`,
      );
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** kafkajs logs through the participant's logger, so one process has one log format. */
export function kafkaLogCreator(logger: ParticipantLogger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, ...fields } = log;
      const text = `kafkajs ${namespace}: ${message}`;
      if (level === logLevel.ERROR) logger.error(text, fields);
      else if (level === logLevel.WARN) logger.warn(text, fields);
      else if (level === logLevel.INFO) logger.info(text, fields);
      else logger.debug(text, fields);
    };
}
