import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  KAFKAJS_VERSION_WITH_IDLE_TIMER_LOOP,
  kafkajsRequestQueue,
  quietKafkaRequestQueues,
  scheduleCheckPendingRequests,
} from './kafka-request-queue';

interface Queue {
  push(request: unknown): void;
  fulfillRequest(answer: { correlationId: number; payload: unknown; size: number }): void;
  checkPendingRequests(): void;
  maybeThrottle(ms: number): void;
  destroy(): void;
  pending: unknown[];
  inflight: Map<number, unknown>;
  throttleCheckTimeoutId: unknown;
}

const RequestQueue = createRequire(require.resolve('kafkajs'))('./src/network/requestQueue/index.js') as new (
  options: Record<string, unknown>,
) => Queue;

const quietLogger = { debug: () => undefined, warn: () => undefined, error: () => undefined };

function queue(maxInFlightRequests: number | null = null): Queue {
  return new RequestQueue({
    maxInFlightRequests,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: 'localhost:9092',
    logger: quietLogger,
  });
}

/** A request as kafkajs's Connection pushes it; `sent` lists the correlation ids put on the wire. */
function request(correlationId: number, sent: number[]): unknown {
  return {
    entry: { correlationId, resolve: () => undefined, reject: () => undefined },
    expectResponse: true,
    sendRequest: () => sent.push(correlationId),
  };
}

describe('the kafkajs request queue fix', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is installed for the kafkajs version in use, which is the one that needs it', () => {
    const { version, prototype } = kafkajsRequestQueue();
    // An upgraded kafkajs fails here: read its request queue, then drop or adapt the fix.
    expect(version).toBe(KAFKAJS_VERSION_WITH_IDLE_TIMER_LOOP);
    expect(quietKafkaRequestQueues()).toBe(true);
    expect(prototype).toHaveProperty('scheduleCheckPendingRequests', scheduleCheckPendingRequests);
  });

  it('leaves an idle queue without a timer once its request is answered', () => {
    const sent: number[] = [];
    const idle = queue();
    idle.push(request(1, sent));
    expect(sent).toEqual([1]);
    idle.fulfillRequest({ correlationId: 1, payload: null, size: 0 });
    expect(idle.throttleCheckTimeoutId).toBeNull();
    expect(vi.getTimerCount()).toBe(0);
    idle.checkPendingRequests();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('sends a request held behind maxInFlightRequests when the one in flight is answered', () => {
    const sent: number[] = [];
    const one = queue(1);
    one.push(request(1, sent));
    one.push(request(2, sent));
    expect(sent).toEqual([1]);
    // kafkajs's own 10 ms re-check stays for a queue with a request waiting.
    expect(vi.getTimerCount()).toBe(1);
    one.fulfillRequest({ correlationId: 1, payload: null, size: 0 });
    expect(sent).toEqual([1, 2]);
    vi.advanceTimersByTime(10);
    expect(one.pending).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
    one.destroy();
  });

  it('sends a throttled request when the throttle ends, and arms nothing after it', () => {
    const sent: number[] = [];
    const throttled = queue();
    throttled.maybeThrottle(50);
    throttled.push(request(1, sent));
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(49);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([1]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
