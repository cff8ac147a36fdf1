// The participant demo as a real OS process, built and started the way it runs in production
// (`node …/apps/participant-demo/src/main.js`), so a test can kill -9 it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
/** Node 24 from the `node` devDependency: the system node may be older. */
const NODE = join(ROOT, 'node_modules/.bin/node');

/**
 * Compiles the demo and the libraries it imports into a private folder under .cache/ with the
 * project's SWC settings, mirroring the source tree like `npm run build` does for dist/. Private,
 * because dist/ is shared with other engineers' runs, and only these three trees, so unrelated
 * work in progress cannot break this test's build.
 */
export function buildDemo(): string {
  const outDir = join(ROOT, '.cache', `participant-demo-build-${process.pid}`);
  rmSync(outDir, { recursive: true, force: true });
  const build = spawnSync(
    'npx',
    [
      'swc',
      'apps/participant-demo',
      'libs/participant',
      'libs/protocol',
      '-d',
      outDir,
      '--config-file',
      '.swcrc',
      '--ignore',
      '**/*.spec.ts,**/*.test.ts',
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (build.status !== 0) throw new Error(`building the demo failed:\n${build.stdout}\n${build.stderr}`);
  return outDir;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export class DemoProcess {
  readonly output: string[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {}

  /**
   * A loaded machine may need longer than `readyTimeoutMs`; the process is killed if it does.
   * With `logFile`, its output is also appended there, so it outlives a restart.
   */
  static async start(
    buildDir: string,
    environment: Record<string, string>,
    readyTimeoutMs = 60_000,
    logFile?: string,
  ): Promise<DemoProcess> {
    const port = await freePort();
    const child = spawn(NODE, [join(buildDir, 'apps/participant-demo/src/main.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...environment,
        VERDICT_HTTP_PORT: String(port),
        KAFKAJS_NO_PARTITIONER_WARNING: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const demo = new DemoProcess(child, `http://127.0.0.1:${port}`);
    child.stdout?.on('data', (chunk: Buffer) => demo.output.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => demo.output.push(chunk.toString()));
    if (logFile !== undefined) {
      const log = createWriteStream(logFile, { flags: 'a' });
      child.stdout?.pipe(log);
      child.stderr?.pipe(log);
    }
    await demo.waitUntilServing(readyTimeoutMs).catch(async (error: unknown) => {
      await demo.kill9();
      throw error;
    });
    return demo;
  }

  private async waitUntilServing(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) {
        throw new Error(`demo exited with ${this.child.exitCode}:\n${this.output.join('')}`);
      }
      try {
        const response = await fetch(`${this.url}/accounts`, { signal: AbortSignal.timeout(1_000) });
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`demo did not serve HTTP within ${timeoutMs / 1000} s:\n${this.output.join('')}`);
  }

  /** SIGKILL: no shutdown hook runs, nothing is flushed or rolled back. */
  async kill9(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM and wait; SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  async post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(this.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async balance(account: string): Promise<number> {
    const response = await fetch(`${this.url}/accounts/${account}`, { signal: AbortSignal.timeout(10_000) });
    return ((await response.json()) as { balance: number }).balance;
  }
}
