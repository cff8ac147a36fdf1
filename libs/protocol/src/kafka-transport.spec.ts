import { gzipSync } from 'node:zlib';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { compressSync as snappyCompress } from 'snappy';
import { describe, expect, it } from 'vitest';
import { compressKafkaSnappy, decompressKafkaSnappy, registerKafkaCodecs } from './kafka-compression';
import { KafkaConsumerKeeper, type KeptConsumer } from './kafka-consumer-keeper';
import { chunkBySize, encodedMessageBytes } from './produce-chunks';

const records = Buffer.from('{"type":"VOTE","txId":"tx-1"}'.repeat(5_000), 'utf8');

describe('Kafka codecs', () => {
  it('reads raw snappy (franz-go, librdkafka) and xerial-framed snappy (Java), several blocks', () => {
    expect(decompressKafkaSnappy(snappyCompress(records))).toEqual(records);
    const framed = compressKafkaSnappy(records);
    expect(framed.subarray(0, 8)).toEqual(Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]));
    expect(decompressKafkaSnappy(framed)).toEqual(records);
  });

  it('refuses a truncated xerial stream with the byte it stopped at', () => {
    const framed = compressKafkaSnappy(records);
    expect(() => decompressKafkaSnappy(framed.subarray(0, framed.length - 3))).toThrow(/runs past the end/);
  });

  it.each([
    ['snappy', CompressionTypes.Snappy as const],
    ['lz4', CompressionTypes.LZ4 as const],
    ['zstd', CompressionTypes.ZSTD as const],
  ])('registers %s with kafkajs, round trip', async (_name, type) => {
    registerKafkaCodecs();
    const codec = (
      CompressionCodecs[type] as () => {
        compress(encoder: { buffer: Buffer }): Promise<Buffer>;
        decompress(buffer: Buffer): Promise<Buffer>;
      }
    )();
    const compressed = await codec.compress({ buffer: records });
    expect(compressed.length).toBeLessThan(records.length / 10);
    expect(await codec.decompress(compressed)).toEqual(records);
    await expect(codec.decompress(gzipSync(records))).rejects.toThrow();
  });
});

describe('chunkBySize', () => {
  it('keeps order, bounds every chunk, and lets an oversized item travel alone', () => {
    const sizes = [3, 4, 2, 9, 12, 1, 1, 1];
    const chunks = chunkBySize(sizes, (size) => size, 10);
    expect(chunks).toEqual([[3, 4, 2], [9], [12], [1, 1, 1]]);
    expect(chunks.flat()).toEqual(sizes);
  });

  it('makes no chunk of nothing and refuses a bad limit', () => {
    expect(chunkBySize([], () => 1, 10)).toEqual([]);
    expect(() => chunkBySize([1], () => 1, 0)).toThrow(/positive integer/);
  });

  it('estimates a message at no less than its key, value and headers', () => {
    const message = { key: 'tx-1', value: Buffer.alloc(1000), headers: { 'verdict-type': 'PREPARE' } };
    expect(encodedMessageBytes(message)).toBeGreaterThan(4 + 1000 + 'verdict-type'.length + 7);
  });
});

type Listener = (event: { payload: { restart: boolean; error: Error } }) => void;

class FakeConsumer implements KeptConsumer {
  readonly events = { CRASH: 'consumer.crash', GROUP_JOIN: 'consumer.group_join' } as KeptConsumer['events'];
  readonly listeners = new Map<string, Listener[]>();
  disconnects = 0;
  on = ((event: string, listener: Listener) => {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return () => undefined;
  }) as unknown as KeptConsumer['on'];
  disconnect = (): Promise<void> => {
    this.disconnects += 1;
    return Promise.resolve();
  };
  emit(event: string, payload: { restart: boolean; error: Error }): void {
    for (const listener of this.listeners.get(event) ?? []) listener({ payload });
  }
}

function keeperHarness(runFails: (attempt: number) => boolean = () => false) {
  let clock = 0;
  const timers: { at: number; run: () => void }[] = [];
  const built: FakeConsumer[] = [];
  const logs: string[] = [];
  const states: boolean[] = [];
  let rebuilt = 0;
  const keeper = new KafkaConsumerKeeper<FakeConsumer>({
    name: 'replies consumer',
    build: () => {
      const consumer = new FakeConsumer();
      built.push(consumer);
      return consumer;
    },
    run: (consumer) => {
      if (runFails(built.length)) return Promise.reject(new Error('broker unreachable'));
      consumer.emit('consumer.group_join', { restart: false, error: new Error('unused') });
      return Promise.resolve();
    },
    backoffMsInitial: 1_000,
    backoffMsMax: 8_000,
    logError: (message) => logs.push(message),
    onRebuild: () => (rebuilt += 1),
    onState: (up) => states.push(up),
    now: () => clock,
    setTimer: (run, ms) => timers.push({ at: clock + ms, run }),
    clearTimer: () => timers.splice(0),
  });
  const advance = async (ms: number): Promise<void> => {
    clock += ms;
    for (;;) {
      const due = timers.findIndex((timer) => timer.at <= clock);
      if (due < 0) break;
      const [timer] = timers.splice(due, 1);
      timer?.run();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const crash = (restart: boolean): void =>
    built.at(-1)?.emit('consumer.crash', {
      restart,
      error: Object.assign(new Error('Snappy compression not implemented'), {
        name: 'KafkaJSNotImplemented',
      }),
    });
  return { keeper, built, logs, states, timers, advance, crash, rebuilt: () => rebuilt };
}

describe('KafkaConsumerKeeper', () => {
  it('rebuilds a consumer that kafkajs will not restart, after the backoff, and says so', async () => {
    const h = keeperHarness();
    await h.keeper.start();
    expect(h.keeper.isUp()).toBe(true);
    h.crash(false);
    expect(h.keeper.isUp()).toBe(false);
    expect(h.logs.join('\n')).toMatch(/will not restart it \(KafkaJSNotImplemented: Snappy/);
    await h.advance(999);
    expect(h.built).toHaveLength(1);
    await h.advance(1);
    expect(h.built).toHaveLength(2);
    expect(h.built[0]?.disconnects).toBe(1);
    expect(h.keeper.isUp()).toBe(true);
    expect(h.keeper.rebuilds()).toBe(1);
    expect(h.rebuilt()).toBe(1);
    expect(h.states).toEqual([true, false, true]);
  });

  it('leaves a restartable crash to kafkajs: down until it rejoins, nothing rebuilt', async () => {
    const h = keeperHarness();
    await h.keeper.start();
    h.crash(true);
    expect(h.keeper.isUp()).toBe(false);
    expect(h.timers).toHaveLength(0);
    h.built[0]?.emit('consumer.group_join', { restart: false, error: new Error('unused') });
    expect(h.keeper.isUp()).toBe(true);
    expect(h.built).toHaveLength(1);
  });

  it('doubles the backoff for crashes in a row up to the maximum, and starts over after a long run', async () => {
    const h = keeperHarness();
    await h.keeper.start();
    const waits: number[] = [];
    for (let crash = 0; crash < 5; crash += 1) {
      h.crash(false);
      const timer = h.timers[0];
      if (timer === undefined) throw new Error('no rebuild scheduled');
      waits.push(timer.at - 0);
      await h.advance(timer.at);
      // advance moved the clock; the next crash comes right after this start
      for (const t of h.timers) t.at -= timer.at;
    }
    expect(
      h.logs.filter((line) => line.includes('rebuilding it in')).map((line) => /in (\d+) ms/.exec(line)?.[1]),
    ).toEqual(['1000', '2000', '4000', '8000', '8000']);
    await h.advance(8_001);
    h.crash(false);
    expect(h.logs.at(-1)).toMatch(/in 1000 ms \(crash 1 in a row\)/);
    expect(waits).toHaveLength(5);
  });

  it('tries again when the rebuilt consumer cannot start', async () => {
    const h = keeperHarness((attempt) => attempt === 2);
    await h.keeper.start();
    h.crash(false);
    await h.advance(1_000);
    expect(h.logs.join('\n')).toMatch(/rebuilt consumer failed to start: broker unreachable/);
    expect(h.keeper.isUp()).toBe(false);
    await h.advance(2_000);
    expect(h.built).toHaveLength(3);
    expect(h.keeper.isUp()).toBe(true);
  });

  it('rebuilds nothing once stopped', async () => {
    const h = keeperHarness();
    await h.keeper.start();
    h.crash(false);
    await h.keeper.stop();
    await h.advance(60_000);
    expect(h.built).toHaveLength(1);
    expect(h.keeper.isUp()).toBe(false);
  });
});
