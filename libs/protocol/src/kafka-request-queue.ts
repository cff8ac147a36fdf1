import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4 keeps one request queue per broker connection, and once a connection has answered
 * a request its queue re-arms a timer forever: with nothing pending and no throttle, the delay it
 * computes is negative (`throttledUntil` starts at -1), which Node clamps to 1 ms, and the timer's
 * callback arms the next one (tulios/kafkajs#1556, #1704, #1751; unreleased upstream). Every
 * process with a Kafka client woke up ~1,800 times a second doing nothing: 2–3% of a core each
 * while idle, and wake-ups that compete for the CPU with real work under load.
 *
 * The queue needs a timer only for a request that waits: behind a broker's throttle, or behind
 * `maxInFlightRequests` (then a timer every 10 ms, as kafkajs does). A request pushed onto an idle
 * queue is sent at once, and every answered or timed-out request checks the queue itself.
 */
export const KAFKAJS_VERSION_WITH_IDLE_TIMER_LOOP = '2.2.4';

/** kafkajs's own interval for a queue whose requests wait without a throttle. */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

/** The part of kafkajs's internal `RequestQueue` (src/network/requestQueue) this fix relies on. */
export interface KafkaRequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** Arms the queue's timer only when a request waits; replaces kafkajs's method of the same name. */
export function scheduleCheckPendingRequests(this: KafkaRequestQueueInternals): void {
  if (this.throttleCheckTimeoutId !== null) return;
  const throttledForMs = this.throttledUntil - Date.now();
  if (this.pending.length === 0 && throttledForMs <= 0) return;
  const delayMs = throttledForMs > 0 ? throttledForMs : CHECK_PENDING_REQUESTS_INTERVAL_MS;
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, delayMs);
}

const fromKafkajs = createRequire(require.resolve('kafkajs'));

/** The installed kafkajs's version, and its request queue's prototype. */
export function kafkajsRequestQueue(): { version: string; prototype: KafkaRequestQueueInternals } {
  const { version } = fromKafkajs('./package.json') as { version: string };
  const RequestQueue = fromKafkajs('./src/network/requestQueue/index.js') as {
    prototype: KafkaRequestQueueInternals;
  };
  return { version, prototype: RequestQueue.prototype };
}

/**
 * Installs the fix in this process's kafkajs, for the version known to need it and no other: a
 * kafkajs whose internals differ keeps its own code (and the unit test says it is time to look).
 * Idempotent.
 */
export function quietKafkaRequestQueues(): boolean {
  const { version, prototype } = kafkajsRequestQueue();
  if (version !== KAFKAJS_VERSION_WITH_IDLE_TIMER_LOOP) return false;
  prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  return true;
}

// On import, like the codecs: the coordinator, the SDK and every tool or test that imports the
// protocol get it before they create a Kafka client.
quietKafkaRequestQueues();
