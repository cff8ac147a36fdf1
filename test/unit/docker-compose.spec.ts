// No Docker engine runs here, so docker-compose.yml is checked by reading it: every reference
// points at something that exists, and every app gets exactly the environment it reads.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEAD_LETTER_TOPIC, participantTopic, REPLIES_TOPIC } from '@verdict/protocol';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  coordinatorEnvironmentSchema,
  loadEnvironment as loadCoordinatorEnvironment,
} from '../../apps/coordinator/src/config/environment';
import {
  participantDemoEnvironmentSchema,
  loadEnvironment as loadParticipantEnvironment,
} from '../../apps/participant-demo/src/config/environment';

const ROOT = join(__dirname, '..', '..');

// Strict: a misspelt key (`depend_on`) would otherwise be ignored by Compose without a word.
const serviceSchema = z.strictObject({
  image: z.string().optional(),
  build: z.string().optional(),
  command: z.array(z.string()).optional(),
  entrypoint: z.array(z.string()).optional(),
  restart: z.enum(['no', 'always', 'on-failure', 'unless-stopped']).optional(),
  depends_on: z
    .record(
      z.string(),
      z.strictObject({
        condition: z.enum(['service_started', 'service_healthy', 'service_completed_successfully']),
      }),
    )
    .optional(),
  environment: z.record(z.string(), z.string()).optional(),
  ports: z.array(z.string()).optional(),
  volumes: z.array(z.string()).optional(),
  healthcheck: z
    .strictObject({
      test: z.array(z.string()),
      interval: z.string(),
      timeout: z.string(),
      retries: z.number().int().positive(),
      start_period: z.string().optional(),
    })
    .optional(),
});
type Service = z.infer<typeof serviceSchema>;

const composeSchema = z.object({
  name: z.string(),
  services: z.record(z.string(), serviceSchema),
  volumes: z.record(z.string(), z.null()),
});

const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
const raw: unknown = parse(text, { merge: true });
const compose = composeSchema.parse(raw);
const services = Object.entries(compose.services);

const APPS = {
  coordinator: { variables: coordinatorEnvironmentSchema.in.shape, load: loadCoordinatorEnvironment },
  'participant-demo': {
    variables: participantDemoEnvironmentSchema.in.shape,
    load: loadParticipantEnvironment,
  },
} as const;
type AppName = keyof typeof APPS;

/** The app a service runs, from `node dist/apps/<app>/src/main.js`. */
function appOf(service: Service): AppName | undefined {
  const entry = service.command?.find((part) => part.startsWith('dist/apps/'));
  const app = /^dist\/apps\/([^/]+)\/src\/main\.js$/.exec(entry ?? '')?.[1];
  if (entry !== undefined && (app === undefined || !(app in APPS))) {
    throw new Error(`unknown app entry point ${entry}`);
  }
  return app as AppName | undefined;
}
const appServices = services.flatMap(([name, service]) => {
  const app = appOf(service);
  return app === undefined ? [] : [{ name, service, app }];
});

/** What Compose hands the container: `${NAME:-default}` becomes its default, `$$` a `$`. */
function interpolate(value: string): string {
  const result = value.replace(/\$\{[A-Z_][A-Z0-9_]*:-([^}]*)\}/g, '$1');
  if (/\$(?!\$)\{?[A-Za-z_]/.test(result.replaceAll('$$', ''))) {
    throw new Error(`"${value}" uses a variable without a default; give it one so a bare \`up\` works`);
  }
  return result.replaceAll('$$', '$');
}
const environmentOf = (service: Service): Record<string, string> =>
  Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [key, interpolate(value)]),
  );

const hostOf = (address: string): string => new URL(`tcp://${address}`).hostname;

describe('docker-compose.yml', () => {
  it('has only known top-level keys (extension fields start with x-)', () => {
    const keys = Object.keys(raw as object);
    expect(
      keys.filter((key) => !['name', 'services', 'volumes'].includes(key) && !key.startsWith('x-')),
    ).toEqual([]);
  });

  it('depends only on services that exist, and waits for health only where there is a health check', () => {
    for (const [name, service] of services) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        const target = compose.services[dependency];
        expect(target, `${name} depends on unknown service ${dependency}`).toBeDefined();
        if (condition === 'service_healthy') {
          expect(target?.healthcheck, `${name} waits for ${dependency} to be healthy`).toBeDefined();
        }
      }
    }
  });

  it('gives every long-running service a health check', () => {
    const oneShot = new Set(
      services.flatMap(([, service]) =>
        Object.entries(service.depends_on ?? {})
          .filter(([, { condition }]) => condition === 'service_completed_successfully')
          .map(([dependency]) => dependency),
      ),
    );
    for (const [name, service] of services) {
      if (!oneShot.has(name)) expect(service.healthcheck, `${name} has no healthcheck`).toBeDefined();
    }
  });

  it('declares every named volume it mounts, mounts every one it declares, and binds files that exist', () => {
    const mounted = new Set<string>();
    for (const [name, service] of services) {
      for (const volume of service.volumes ?? []) {
        const [source = ''] = volume.split(':');
        if (source.startsWith('.') || source.startsWith('/')) {
          expect(existsSync(join(ROOT, source)), `${name} binds missing ${source}`).toBe(true);
        } else {
          expect(Object.keys(compose.volumes), `${name} mounts undeclared volume ${source}`).toContain(
            source,
          );
          mounted.add(source);
        }
      }
    }
    expect([...mounted].sort()).toEqual(Object.keys(compose.volumes).sort());
  });

  it('builds from a Dockerfile that builds the apps', () => {
    for (const [, service] of services) {
      if (service.build === undefined) continue;
      const dockerfile = readFileSync(join(ROOT, service.build, 'Dockerfile'), 'utf8');
      expect(dockerfile).toMatch(/^FROM node:24/m);
      expect(dockerfile).toMatch(/RUN npm ci\b/);
      expect(dockerfile).toMatch(/RUN npm run build\b/);
    }
  });

  it('publishes each host port once, onto the port the app listens on', () => {
    const hostPorts = new Set<string>();
    for (const [name, service] of services) {
      for (const mapping of service.ports ?? []) {
        const match = /^(\d+):(\d+)$/.exec(mapping);
        expect(match, `${name} port "${mapping}" should be host:container`).not.toBeNull();
        const [, hostPort = '', containerPort = ''] = match ?? [];
        expect(hostPorts.has(hostPort), `host port ${hostPort} is published twice`).toBe(false);
        hostPorts.add(hostPort);
        if (appOf(service) !== undefined)
          expect(environmentOf(service)['VERDICT_HTTP_PORT']).toBe(containerPort);
      }
    }
  });

  it('runs apps whose source exists, with exactly the variables they read, all valid', () => {
    expect(new Set(appServices.map(({ app }) => app))).toEqual(new Set(Object.keys(APPS)));
    for (const { name, service, app } of appServices) {
      expect(
        existsSync(join(ROOT, 'apps', app, 'src', 'main.ts')),
        `${name} runs ${app}, which has no main.ts`,
      ).toBe(true);
      const environment = environmentOf(service);
      const unknown = Object.keys(environment).filter((key) => !(key in APPS[app].variables));
      expect(unknown, `${name} sets variables ${app} never reads`).toEqual([]);
      expect(() => APPS[app].load(environment), `${name} environment`).not.toThrow();
    }
  });

  it('forms one coordinator cluster whose peers are its services, each node with its own data volume', () => {
    const coordinators = appServices.filter(({ app }) => app === 'coordinator');
    const configs = coordinators.map(({ service }) => loadCoordinatorEnvironment(environmentOf(service)));
    const first = configs[0];
    expect(first).toBeDefined();
    expect(new Set(configs.map((config) => config.nodeId)).size).toBe(coordinators.length);
    for (const config of configs) {
      expect(config.peers).toEqual(first?.peers);
      expect(config.peers.map((peer) => peer.nodeId).sort()).toEqual(
        configs.map((other) => other.nodeId).sort(),
      );
    }
    for (const [position, { name, service }] of coordinators.entries()) {
      const config = configs[position];
      const self = config?.peers.find((peer) => peer.nodeId === config.nodeId);
      expect(self?.host, `${name} must be its own peer address`).toBe(name);
      expect(self?.raftPort).toBe(config?.raftPort);
      const dataVolume = service.volumes?.find((volume) => volume.endsWith(`:${config?.dataDirectory}`));
      expect(dataVolume, `${name} keeps its Raft data in a named volume`).toBeDefined();
    }
    const dataVolumes = coordinators.flatMap(({ service }) => service.volumes ?? []);
    expect(new Set(dataVolumes).size, 'coordinators share a data volume').toBe(dataVolumes.length);
  });

  it('points every app at services that exist', () => {
    for (const { name, service, app } of appServices) {
      const environment = environmentOf(service);
      const hosts = [
        ...(environment['KAFKA_BROKERS'] ?? '').split(',').map(hostOf),
        new URL(environment['DATABASE_URL'] ?? '').hostname,
        ...(app === 'participant-demo'
          ? [new URL(environment['VERDICT_COORDINATOR_URL'] ?? '').hostname]
          : []),
      ];
      for (const host of hosts)
        expect(Object.keys(compose.services), `${name} points at ${host}`).toContain(host);
    }
  });

  it('creates the protocol topics and one topic per participant before the apps start', () => {
    const script = compose.services['kafka-topics']?.command?.join('\n') ?? '';
    const participants = appServices
      .filter(({ app }) => app === 'participant-demo')
      .map(({ service }) => loadParticipantEnvironment(environmentOf(service)).participantName);
    expect(new Set(participants).size).toBe(participants.length);
    for (const topic of [REPLIES_TOPIC, DEAD_LETTER_TOPIC, ...participants.map(participantTopic)]) {
      expect(script.split(/[\s;]+/), `topic ${topic}`).toContain(topic);
    }
    for (const { name, service } of appServices) {
      expect(service.depends_on?.['kafka-topics']?.condition, name).toBe('service_completed_successfully');
    }
  });
});
