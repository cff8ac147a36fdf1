import type { Rng } from '../core/rng';
import type { NodeId, RaftMessage } from '../core/types';

export interface NetworkOptions {
  /** Per-mille chance a message is dropped. */
  readonly lossPerMille: number;
  /** Per-mille chance a message is delivered twice. */
  readonly duplicatePerMille: number;
  /** Delivery delay in ticks, uniform in [delayTicksMin, delayTicksMax]; the spread reorders. */
  readonly delayTicksMin: number;
  readonly delayTicksMax: number;
}

interface InFlight {
  readonly deliverAtTick: number;
  readonly message: RaftMessage;
}

/** Messages in flight with delay, loss, duplication, reordering and (one-way) partitions. */
export class SimNetwork {
  private inFlight: InFlight[] = [];
  /** Directed links that drop everything: "from->to". */
  private readonly blocked = new Set<string>();
  options: NetworkOptions;
  private readonly rng: Rng;

  constructor(options: NetworkOptions, rng: Rng) {
    this.options = options;
    this.rng = rng;
  }

  send(message: RaftMessage, nowTick: number): void {
    if (this.rng.nextInt(1000) < this.options.lossPerMille) return;
    const copies = this.rng.nextInt(1000) < this.options.duplicatePerMille ? 2 : 1;
    for (let copy = 0; copy < copies; copy += 1) {
      const spread = this.options.delayTicksMax - this.options.delayTicksMin + 1;
      this.inFlight.push({
        deliverAtTick: nowTick + this.options.delayTicksMin + this.rng.nextInt(spread),
        message,
      });
    }
  }

  /** Messages due by `nowTick`, shuffled (reordering among those due), minus blocked links. */
  due(nowTick: number): RaftMessage[] {
    const due: RaftMessage[] = [];
    const later: InFlight[] = [];
    for (const item of this.inFlight) {
      if (item.deliverAtTick <= nowTick) due.push(item.message);
      else later.push(item);
    }
    this.inFlight = later;
    for (let index = due.length - 1; index > 0; index -= 1) {
      const other = this.rng.nextInt(index + 1);
      const swap = due[index] as RaftMessage;
      due[index] = due[other] as RaftMessage;
      due[other] = swap;
    }
    return due.filter((message) => !this.isBlocked(message.from, message.to));
  }

  private isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.has(`${from}->${to}`);
  }

  block(from: NodeId, to: NodeId): void {
    this.blocked.add(`${from}->${to}`);
  }

  heal(): void {
    this.blocked.clear();
  }
}
