import { EventEmitter } from 'node:events';
import { Logger, type OnModuleDestroy } from '@nestjs/common';
import CircuitBreaker from 'opossum';

export interface BreakerOptions {
  /** Consecutive failures (prepare timeouts, send failures) that open a participant's circuit. */
  readonly failuresToOpen: number;
  /** How long an open circuit refuses work before it lets one probe transaction through. */
  readonly resetTimeoutMs: number;
  /**
   * How long the probe may take to produce a vote or ACK before it counts as failed. Set it
   * above the prepare timeout, or a slow but healthy participant can never close its circuit.
   */
  readonly probeTimeoutMs: number;
}

export type BreakerStateName = 'closed' | 'open' | 'halfOpen';

export interface BreakerState {
  readonly participant: string;
  readonly state: BreakerStateName;
  /** Failures since the last success: what opens the circuit at `failuresToOpen`. */
  readonly consecutiveFailures: number;
  /** When the circuit last opened (ISO 8601), null while closed. */
  readonly openedAt: string | null;
  /** When it entered its current state (or was first seen), ISO 8601. */
  readonly since: string;
  readonly lastFailure: string | null;
  /**
   * Why it refuses work, null while it admits: e.g. "circuit open after 5 consecutive prepare
   * timeouts; retry after 7s". What the engine's `participantUnavailable` command takes.
   */
  readonly reason: string | null;
}

export interface BreakerStateChange {
  readonly participant: string;
  readonly from: BreakerStateName;
  readonly to: BreakerStateName;
  readonly at: string;
  /**
   * Why, in words. On `to: 'open'` it is the `reason` for the engine's `participantUnavailable`
   * command, e.g. "circuit open after 5 consecutive prepare timeouts; retry after 10s".
   */
  readonly reason: string;
}

export type Admission =
  | { readonly admitted: true; /** This transaction is the half-open probe. */ readonly probe: boolean }
  | { readonly admitted: false; readonly reason: string };

/**
 * Circuits kept at most. Names come from clients, so the map is bounded: at the limit, circuits
 * that are closed with no failure streak (they hold no information) are dropped, and if every
 * one is failing, the oldest.
 */
export const PARTICIPANT_CIRCUITS_MAX = 10_000;

type FailureKind = 'prepare timeout' | 'send failure' | 'probe timeout';

/** What the host observed about a participant, fed through opossum's `fire()`. */
type Observation =
  | { readonly kind: 'success' }
  | { readonly kind: 'failure'; readonly error: ObservedFailure }
  /** Admits the half-open probe: settles when the probe's vote, ACK or failure is recorded. */
  | { readonly kind: 'probe' };

class ObservedFailure extends Error {
  constructor(
    readonly failure: FailureKind,
    message: string,
  ) {
    super(message);
  }
}

interface ParticipantCircuit {
  readonly participant: string;
  readonly breaker: CircuitBreaker<[Observation], void>;
  /** Emitting `rotate` empties the breaker's statistics window: see `createCircuit`. */
  readonly window: EventEmitter;
  readonly streak: Map<FailureKind, number>;
  state: BreakerStateName;
  sinceMs: number;
  openedAtMs: number | null;
  /** Set by `reset` so the close event says who closed it. */
  closeReason: string | null;
  lastFailure: string | null;
  probe: { resolve: () => void; reject: (error: Error) => void } | null;
}

/**
 * One opossum circuit breaker per participant. The engine host reports what it sees (a vote or
 * ACK: `recordSuccess`; no vote by the prepare deadline: `recordPrepareTimeout`; the transport
 * reports failed sends) and asks `admit(participant)` before enlisting a participant, so a
 * participant that keeps failing makes new transactions abort at once instead of waiting for
 * their prepare deadline.
 *
 * opossum owns the state machine: it opens the circuit, refuses while open, half-opens after
 * `resetTimeoutMs`, lets exactly one call through (its "pending close" slot), closes on that
 * call's success and re-opens on its failure or timeout.
 */
export class ParticipantBreakers implements OnModuleDestroy {
  private readonly logger = new Logger(ParticipantBreakers.name);
  private readonly circuits = new Map<string, ParticipantCircuit>();
  private readonly listeners = new Set<(change: BreakerStateChange) => void>();

  constructor(private readonly options: BreakerOptions) {
    validateBreakerOptions(options);
  }

  /**
   * Whether a transaction may enlist the participant now. In half-open, the first caller is
   * admitted as the probe and the others are refused until the probe's outcome is recorded:
   * call it once per enlistment, not for display (use `isAvailable` or `states` for that).
   */
  admit(participant: string): Admission {
    const circuit = this.circuit(participant);
    if (circuit.breaker.closed) return { admitted: true, probe: false };
    if (circuit.breaker.halfOpen && circuit.breaker.pendingClose) {
      // Takes opossum's single half-open slot: until this call settles, fire() is refused.
      void circuit.breaker.fire({ kind: 'probe' });
      return { admitted: true, probe: true };
    }
    return { admitted: false, reason: this.refusal(circuit) };
  }

  /** Read-only: would `admit` let a transaction in? */
  isAvailable(participant: string): boolean {
    const breaker = this.circuits.get(participant)?.breaker;
    return breaker === undefined || breaker.closed || (breaker.halfOpen && breaker.pendingClose);
  }

  /**
   * The participant's circuit state, `undefined` before it had a breaker; read-only. Each response
   * shows every participant's state: `states()` would also sum opossum's statistics window and
   * format dates, for every breaker, on every response.
   */
  stateOf(participant: string): BreakerStateName | undefined {
    return this.circuits.get(participant)?.state;
  }

  /** Why the participant is refused, or null when it is available. */
  unavailableReason(participant: string): string | null {
    const circuit = this.circuits.get(participant);
    return circuit === undefined || this.isAvailable(participant) ? null : this.refusal(circuit);
  }

  /** A VOTE or ACK arrived from the participant. */
  recordSuccess(participant: string): void {
    const circuit = this.circuit(participant);
    if (circuit.probe !== null) {
      circuit.probe.resolve();
      return;
    }
    // Healthy and no failure streak to end: nothing would change, so skip opossum's bookkeeping
    // on the hot path (one vote and one ACK per participant per transaction). The streak, not
    // opossum's `stats`, which sums its window anew on every read (~1% of a busy leader's CPU).
    if (circuit.breaker.closed && circuit.streak.size === 0) return;
    void circuit.breaker.fire({ kind: 'success' });
  }

  /** The prepare deadline passed without a vote from the participant. */
  recordPrepareTimeout(participant: string): void {
    this.recordFailure(
      participant,
      new ObservedFailure('prepare timeout', 'no vote before the prepare deadline'),
    );
  }

  /** A command to the participant could not be handed to Kafka. */
  recordSendFailure(participant: string, error: Error): void {
    this.recordFailure(participant, new ObservedFailure('send failure', error.message));
  }

  /**
   * Operator override ("retry now"): closes the participant's circuit and ends its failure
   * streak, so the next transaction goes through at once. `actor` is recorded in the event.
   */
  reset(participant: string, actor: string): void {
    const circuit = this.circuits.get(participant);
    if (circuit === undefined || circuit.breaker.closed) return;
    circuit.probe?.reject(new Error(`circuit reset by ${actor}`));
    circuit.closeReason = `reset by ${actor}`;
    circuit.breaker.close();
  }

  states(): BreakerState[] {
    return [...this.circuits.values()].map((circuit) => ({
      participant: circuit.participant,
      state: circuit.state,
      consecutiveFailures: circuit.breaker.stats.failures,
      openedAt: circuit.openedAtMs === null ? null : new Date(circuit.openedAtMs).toISOString(),
      since: new Date(circuit.sinceMs).toISOString(),
      lastFailure: circuit.lastFailure,
      reason: this.isAvailable(circuit.participant) ? null : this.unavailableBecause(circuit),
    }));
  }

  /** For metrics and logs; returns a function that removes the listener. */
  onStateChange(listener: (change: BreakerStateChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onModuleDestroy(): void {
    this.close();
  }

  /** Stops every breaker's timers. */
  close(): void {
    for (const circuit of this.circuits.values()) {
      circuit.probe?.reject(new Error('breakers closed'));
      circuit.breaker.shutdown();
    }
    this.circuits.clear();
  }

  private recordFailure(participant: string, failure: ObservedFailure): void {
    const circuit = this.circuit(participant);
    if (circuit.probe !== null) {
      circuit.probe.reject(failure);
      return;
    }
    void circuit.breaker.fire({ kind: 'failure', error: failure });
  }

  private refusal(circuit: ParticipantCircuit): string {
    return `participant ${circuit.participant} is unavailable: ${this.unavailableBecause(circuit)}`;
  }

  /** Why a circuit refuses work, without the participant's name (the engine adds its own). */
  private unavailableBecause(circuit: ParticipantCircuit): string {
    if (circuit.breaker.halfOpen) {
      const retryAfterS = Math.ceil(this.options.probeTimeoutMs / 1000);
      return `circuit half-open, a probe transaction is under way; retry after ${retryAfterS}s`;
    }
    const now = Date.now();
    const openedAtMs = circuit.openedAtMs ?? now;
    const retryAfterS = Math.max(1, Math.ceil((openedAtMs + this.options.resetTimeoutMs - now) / 1000));
    return `${this.openReason(circuit)}; retry after ${retryAfterS}s`;
  }

  private openReason(circuit: ParticipantCircuit): string {
    const total = circuit.breaker.stats.failures;
    const kinds = [...circuit.streak.entries()].filter(([, count]) => count > 0);
    const [only] = kinds;
    if (kinds.length === 1 && only !== undefined)
      return `circuit open after ${total} consecutive ${plural(only[0], total)}`;
    const parts = kinds.map(([kind, count]) => `${count} ${plural(kind, count)}`).join(', ');
    return `circuit open after ${total} consecutive failures (${parts})`;
  }

  private circuit(participant: string): ParticipantCircuit {
    const existing = this.circuits.get(participant);
    if (existing !== undefined) return existing;
    if (this.circuits.size >= PARTICIPANT_CIRCUITS_MAX) this.dropIdleCircuits();
    const circuit = this.createCircuit(participant);
    this.circuits.set(participant, circuit);
    return circuit;
  }

  private dropIdleCircuits(): void {
    for (const [participant, circuit] of this.circuits) {
      if (circuit.breaker.closed && circuit.breaker.stats.failures === 0) this.drop(participant, circuit);
    }
    // Every circuit is failing: forget the oldest rather than refuse to track a participant.
    const [oldest] = this.circuits;
    if (this.circuits.size >= PARTICIPANT_CIRCUITS_MAX && oldest !== undefined) {
      this.logger.warn(
        `${PARTICIPANT_CIRCUITS_MAX} participants have failing circuits; forgetting ${oldest[0]}'s`,
      );
      this.drop(...oldest);
    }
  }

  private drop(participant: string, circuit: ParticipantCircuit): void {
    circuit.probe?.reject(new Error('circuit dropped'));
    circuit.breaker.shutdown();
    this.circuits.delete(participant);
  }

  private createCircuit(participant: string): ParticipantCircuit {
    const window = new EventEmitter();
    const action = (observation: Observation): Promise<void> => {
      switch (observation.kind) {
        case 'success':
          return Promise.resolve();
        case 'failure':
          return Promise.reject(observation.error);
        case 'probe':
          return new Promise((resolve, reject) => {
            circuit.probe = { resolve, reject };
          });
      }
    };
    // "Consecutive" failures from opossum's error-percentage rule: its statistics window has one
    // bucket, rotated by us (not by a timer) on every success and on close, so the window holds
    // exactly the current failure streak. Every call in it failed (100% > 50%), so opossum opens
    // the circuit when the streak reaches volumeThreshold = failuresToOpen.
    const breaker = new CircuitBreaker<[Observation], void>(action, {
      name: participant,
      group: 'participants',
      timeout: this.options.probeTimeoutMs,
      resetTimeout: this.options.resetTimeoutMs,
      errorThresholdPercentage: 50,
      volumeThreshold: this.options.failuresToOpen,
      rollingCountBuckets: 1,
      rollingCountTimeout: this.options.resetTimeoutMs,
      rotateBucketController: window,
      enableSnapshots: false,
      rollingPercentilesEnabled: false,
      allowWarmUp: false,
      capacity: Number.MAX_SAFE_INTEGER,
      cache: false,
    });
    // Reports are fire-and-forget: the outcome is in the events below, so never reject.
    breaker.fallback(() => undefined);
    const circuit: ParticipantCircuit = {
      participant,
      breaker,
      window,
      streak: new Map(),
      state: 'closed',
      sinceMs: Date.now(),
      openedAtMs: null,
      closeReason: null,
      lastFailure: null,
      probe: null,
    };
    const endStreak = (): void => {
      window.emit('rotate');
      circuit.streak.clear();
    };
    breaker.on('failure', (error: Error) => {
      const kind: FailureKind = error instanceof ObservedFailure ? error.failure : 'probe timeout';
      circuit.streak.set(kind, (circuit.streak.get(kind) ?? 0) + 1);
      circuit.lastFailure = `${kind}: ${error.message}`;
    });
    breaker.on('success', endStreak);
    breaker.on('open', () => {
      circuit.probe = null;
      circuit.openedAtMs = Date.now();
      this.changeState(circuit, 'open', this.unavailableBecause(circuit));
    });
    breaker.on('halfOpen', () => {
      this.changeState(
        circuit,
        'halfOpen',
        `reset timeout of ${this.options.resetTimeoutMs} ms elapsed; next transaction is the probe`,
      );
    });
    breaker.on('close', () => {
      circuit.probe = null;
      circuit.openedAtMs = null;
      endStreak();
      this.changeState(circuit, 'closed', circuit.closeReason ?? 'probe succeeded');
      circuit.closeReason = null;
    });
    return circuit;
  }

  private changeState(circuit: ParticipantCircuit, to: BreakerStateName, reason: string): void {
    const nowMs = Date.now();
    const change: BreakerStateChange = {
      participant: circuit.participant,
      from: circuit.state,
      to,
      at: new Date(nowMs).toISOString(),
      reason,
    };
    circuit.state = to;
    circuit.sinceMs = nowMs;
    const log = `participant ${change.participant}: circuit ${change.from} -> ${change.to} (${reason})`;
    if (to === 'open') this.logger.warn(log);
    else this.logger.log(log);
    for (const listener of this.listeners) listener(change);
  }
}

function plural(kind: FailureKind, count: number): string {
  return count === 1 ? kind : `${kind}s`;
}

export function validateBreakerOptions(options: BreakerOptions): void {
  const check = (name: keyof BreakerOptions, value: number, min: number, max: number): void => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`breaker option ${name} is ${value}; use an integer from ${min} to ${max}`);
    }
  };
  check('failuresToOpen', options.failuresToOpen, 1, 1_000);
  check('resetTimeoutMs', options.resetTimeoutMs, 1, 3_600_000);
  check('probeTimeoutMs', options.probeTimeoutMs, 1, 3_600_000);
}
