import { isParticipantName, PARTICIPANT_NAME_RULE } from '@verdict/protocol';
import { z } from 'zod';

// Everything the participant demo reads from its environment, and nothing else: the
// docker-compose check (test/unit/docker-compose.spec.ts) holds the compose file to the keys of
// this schema.

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
/** Short keys can be guessed; the coordinator refuses keys under 16 characters. */
const API_KEY_LENGTH_MIN = 16;
// A hostname or IPv4 address; IPv6 literals would need brackets and nothing here uses them.
const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ParticipantDemoEnvironment {
  /** Also the Kafka topic suffix: `verdict.participant.<name>`. */
  readonly participantName: string;
  readonly httpPort: number;
  readonly kafkaBrokers: readonly string[];
  readonly databaseUrl: string;
  readonly coordinatorUrl: string;
  readonly apiKey: string;
  readonly logLevel: LogLevel;
}

const PORT_RULE = 'an integer from 1 to 65535';
const BROKERS_RULE = 'a comma-separated list of host:port, e.g. kafka:9092';
const DATABASE_URL_RULE = 'a URL like postgres://user:password@host:5432/database';
const COORDINATOR_URL_RULE = 'an http(s) URL of any coordinator node, e.g. http://coordinator-1:8080';
const API_KEY_RULE = `a coordinator API key with role service, at least ${API_KEY_LENGTH_MIN} characters`;

const required = (rule: string) => z.string({ error: `is required: ${rule}` });

const isHostAndPort = (text: string): boolean => {
  const separator = text.lastIndexOf(':');
  const port = text.slice(separator + 1);
  return separator > 0 && HOST.test(text.slice(0, separator)) && isPort(port);
};
const isPort = (text: string): boolean =>
  /^\d{1,5}$/.test(text) && Number(text) >= 1 && Number(text) <= 65_535;
const hasProtocol = (text: string, protocols: readonly string[]): boolean =>
  URL.canParse(text) && protocols.includes(new URL(text).protocol);

export const participantDemoEnvironmentSchema = z
  .object({
    VERDICT_PARTICIPANT_NAME: required(PARTICIPANT_NAME_RULE).refine(isParticipantName, {
      message: `must be ${PARTICIPANT_NAME_RULE}`,
    }),
    VERDICT_HTTP_PORT: required(PORT_RULE)
      .refine(isPort, { message: `must be ${PORT_RULE}` })
      .transform(Number),
    KAFKA_BROKERS: required(BROKERS_RULE)
      .transform((text) =>
        text
          .split(',')
          .map((entry) => entry.trim())
          .filter((entry) => entry !== ''),
      )
      .refine((brokers) => brokers.length > 0 && brokers.every(isHostAndPort), {
        message: `must be ${BROKERS_RULE}`,
      }),
    DATABASE_URL: required(DATABASE_URL_RULE).refine(
      (text) => hasProtocol(text, ['postgres:', 'postgresql:']),
      {
        message: `must be ${DATABASE_URL_RULE}`,
      },
    ),
    VERDICT_COORDINATOR_URL: required(COORDINATOR_URL_RULE).refine(
      (text) => hasProtocol(text, ['http:', 'https:']),
      {
        message: `must be ${COORDINATOR_URL_RULE}`,
      },
    ),
    VERDICT_API_KEY: required(API_KEY_RULE).min(API_KEY_LENGTH_MIN, { message: `must be ${API_KEY_RULE}` }),
    LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  })
  .transform((environment): ParticipantDemoEnvironment => ({
    participantName: environment.VERDICT_PARTICIPANT_NAME,
    httpPort: environment.VERDICT_HTTP_PORT,
    kafkaBrokers: environment.KAFKA_BROKERS,
    databaseUrl: environment.DATABASE_URL,
    coordinatorUrl: environment.VERDICT_COORDINATOR_URL,
    apiKey: environment.VERDICT_API_KEY,
    logLevel: environment.LOG_LEVEL,
  }));

/** The demo's configuration, or an error naming every bad variable, its value and its rule. */
export function loadEnvironment(env: NodeJS.ProcessEnv = process.env): ParticipantDemoEnvironment {
  const result = participantDemoEnvironmentSchema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '(environment)');
    return `  ${name}=${describeValue(name, env[name])}: ${issue.message}`;
  });
  throw new Error(`the participant-demo environment is invalid:\n${[...new Set(lines)].join('\n')}`);
}

function describeValue(name: string, value: string | undefined): string {
  if (value === undefined) return '(not set)';
  if (name === 'VERDICT_API_KEY') return `(hidden, ${value.length} characters)`;
  if (name === 'DATABASE_URL' && URL.canParse(value)) {
    const url = new URL(value);
    if (url.password !== '') url.password = '***';
    return JSON.stringify(url.toString());
  }
  return JSON.stringify(value);
}
