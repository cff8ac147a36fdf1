/**
 * Runs work for one key at a time, in the order it was submitted; different keys run
 * concurrently. The SDK keys by txId so that a PREPARE and the ABORT right behind it never race.
 */
export class KeyedSerializer {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Resolves when everything submitted so far has finished. */
  async idle(): Promise<void> {
    await Promise.all([...this.tails.values()]);
  }
}

/** At most `limit` pieces of work at once; the rest wait in submission order. */
export class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`concurrency limit must be a positive integer, got ${limit}`);
    }
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `running` only drops when nobody waits.
      if (next === undefined) this.running -= 1;
      else next();
    }
  }
}

export type Budgeted<T> = { readonly settled: true; readonly value: T } | { readonly settled: false };

/** Waits for `work` at most `budgetMs`; the work itself goes on (the caller decides what to do). */
export async function withinBudget<T>(work: Promise<T>, budgetMs: number): Promise<Budgeted<T>> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<Budgeted<T>>((resolve) => {
    timer = setTimeout(() => resolve({ settled: false }), budgetMs);
  });
  try {
    return await Promise.race([work.then((value): Budgeted<T> => ({ settled: true, value })), expired]);
  } finally {
    clearTimeout(timer);
  }
}
