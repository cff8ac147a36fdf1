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

/**
 * The SDK bounds the idempotent producer's retries on purpose (see Participant): a failed reply
 * batch is re-read and answered again. kafkajs warns about that on every start; the warning
 * would only teach operators to ignore warnings.
 */
const EXPECTED_KAFKAJS_WARNING = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

/** kafkajs logs through the participant's logger, so one process has one log format. */
export function kafkaLogCreator(logger: ParticipantLogger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, ...fields } = log;
      if (message === EXPECTED_KAFKAJS_WARNING) return;
      const text = `kafkajs ${namespace}: ${message}`;
      if (level === logLevel.ERROR) logger.error(text, fields);
      else if (level === logLevel.WARN) logger.warn(text, fields);
      else if (level === logLevel.INFO) logger.info(text, fields);
      else logger.debug(text, fields);
    };
}
