import type { Consumer } from 'kafkajs';

/** What the keeper needs of a kafkajs consumer. */
export type KeptConsumer = Pick<Consumer, 'on' | 'events' | 'disconnect'>;

export interface ConsumerKeeperOptions<C extends KeptConsumer> {
  /** For log lines: "replies consumer", "commands consumer". */
  readonly name: string;
  /** A new consumer; a crashed one is never reused. */
  readonly build: () => C;
  /** Connects, subscribes and runs it. */
  readonly run: (consumer: C) => Promise<void>;
  readonly backoffMsInitial: number;
  readonly backoffMsMax: number;
  /** Loud: a consumer that is down means votes or commands go unread. */
  readonly logError: (message: string) => void;
  /** Each time a consumer is rebuilt after a crash kafkajs would not restart from. */
  readonly onRebuild?: () => void;
  /** Each time the consumer goes up (joined its group) or down (crashed). */
  readonly onState?: (up: boolean) => void;
  readonly now?: () => number;
  readonly setTimer?: (run: () => void, ms: number) => unknown;
  readonly clearTimer?: (timer: unknown) => void;
}

/**
 * Keeps one kafkajs consumer alive. kafkajs restarts a crashed consumer only after a retriable
 * error; after any other (a batch it cannot decode, a codec it lacks) it emits CRASH with
 * `restart: false`, disconnects and never reads again, whatever `restartOnFailure` says. The
 * keeper then builds a new consumer and runs it after a backoff that doubles on each crash
 * that follows quickly on the previous start, up to `backoffMsMax`, so a batch that crashes
 * every consumer does not spin.
 */
export class KafkaConsumerKeeper<C extends KeptConsumer> {
  private current: C | null = null;
  private up = false;
  private stopped = false;
  private timer: unknown = null;
  private failures = 0;
  private startedAt = 0;
  private rebuildCount = 0;
  private readonly now: () => number;
  private readonly setTimer: (run: () => void, ms: number) => unknown;
  private readonly clearTimer: (timer: unknown) => void;

  constructor(private readonly options: ConsumerKeeperOptions<C>) {
    if (options.backoffMsInitial < 1 || options.backoffMsMax < options.backoffMsInitial) {
      throw new RangeError(
        `consumer keeper backoff is ${options.backoffMsInitial}..${options.backoffMsMax} ms; use 1 <= initial <= max`,
      );
    }
    this.now = options.now ?? Date.now;
    this.setTimer = options.setTimer ?? ((run, ms) => setTimeout(run, ms));
    this.clearTimer = options.clearTimer ?? ((timer) => clearTimeout(timer as NodeJS.Timeout));
  }

  /** Whether the consumer is in its group and reading. */
  isUp(): boolean {
    return this.up;
  }

  /** Consumers rebuilt after a crash kafkajs did not restart from. */
  rebuilds(): number {
    return this.rebuildCount;
  }

  consumer(): C | null {
    return this.current;
  }

  /** Builds and runs the first consumer; its failure to start is the caller's. */
  async start(): Promise<void> {
    if (this.current !== null) throw new Error(`${this.options.name}: already started`);
    await this.launch();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    this.setUp(false);
    await this.current?.disconnect();
  }

  private async launch(): Promise<void> {
    const consumer = this.options.build();
    this.current = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (this.current === consumer) this.setUp(true);
    });
    consumer.on(consumer.events.CRASH, (event) => {
      if (this.current !== consumer || this.stopped) return;
      this.setUp(false);
      if (event.payload.restart) return; // kafkajs starts it again itself
      this.logError(
        `${this.options.name} crashed and kafkajs will not restart it (${event.payload.error.name}: ${event.payload.error.message})`,
      );
      this.schedule();
    });
    this.startedAt = this.now();
    await this.options.run(consumer);
  }

  private schedule(): void {
    // A consumer that ran for longer than the longest backoff crashed afresh: start over.
    if (this.now() - this.startedAt > this.options.backoffMsMax) this.failures = 0;
    const backoff = Math.min(this.options.backoffMsMax, this.options.backoffMsInitial * 2 ** this.failures);
    this.failures += 1;
    this.logError(`${this.options.name}: rebuilding it in ${backoff} ms (crash ${this.failures} in a row)`);
    this.timer = this.setTimer(() => {
      this.timer = null;
      void this.rebuild();
    }, backoff);
  }

  private async rebuild(): Promise<void> {
    if (this.stopped) return;
    const old = this.current;
    this.rebuildCount += 1;
    this.options.onRebuild?.();
    try {
      await old?.disconnect();
      await this.launch();
    } catch (error) {
      if (this.stopped) return;
      this.logError(
        `${this.options.name}: rebuilt consumer failed to start: ${error instanceof Error ? error.message : String(error)}`,
      );
      await this.current?.disconnect().catch(() => undefined);
      this.schedule();
    }
  }

  private setUp(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    this.options.onState?.(up);
  }

  private logError(message: string): void {
    this.options.logError(message);
  }
}
