import { assert } from './assert';

/** The core's only source of randomness, so that a seed replays a run exactly. */
export interface Rng {
  /** Uniform in [0, 2^32). */
  nextUint32(): number;
  /** Uniform in [0, bound); bound must be a positive integer below 2^32. */
  nextInt(bound: number): number;
}

/**
 * xoshiro128** (Blackman and Vigna), seeded through splitmix32 so that any 32-bit seed,
 * including 0, gives a well-mixed non-zero state.
 */
export class Xoshiro128 implements Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    assert(Number.isInteger(seed), `rng seed must be an integer, got ${seed}`);
    let state = seed >>> 0;
    const splitmix32 = (): number => {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = splitmix32();
    this.s1 = splitmix32();
    this.s2 = splitmix32();
    this.s3 = splitmix32();
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  nextInt(bound: number): number {
    assert(
      Number.isInteger(bound) && bound > 0 && bound <= 0x1_0000_0000,
      `rng bound must be in [1, 2^32], got ${bound}`,
    );
    // Multiply-shift keeps the bias below 2^-32 per draw: negligible for timeouts and schedules.
    return Math.floor((this.nextUint32() / 0x1_0000_0000) * bound);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
