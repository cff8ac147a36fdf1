/**
 * Names kept by ParticipantLastSeen. A deployment has tens of participants; a thousand leaves room
 * and costs a few tens of kilobytes.
 */
export const LAST_SEEN_NAMES_MAX = 1024;

/**
 * When each participant last replied (a vote, an ack or an outcome query), as this node read it
 * from the replies topic. Every node reads that topic (a follower in bulk, up to a second late), so
 * every node keeps this, any node's GET /v1/cluster can answer, and a new leader knows it from its
 * first moment.
 *
 * Bounded: participant names come from messages on a topic anyone with access can write to, so at
 * most `namesMax` names are kept; the one heard from longest ago is forgotten first.
 */
export class ParticipantLastSeen {
  // Map order is the eviction order: a name is moved to the end each time it is heard from.
  private readonly lastSeenAtMs = new Map<string, number>();

  constructor(private readonly namesMax: number) {
    if (!Number.isInteger(namesMax) || namesMax < 1) {
      throw new Error(`ParticipantLastSeen needs a positive whole number of names, got ${namesMax}`);
    }
  }

  record(participant: string, atMs: number): void {
    this.lastSeenAtMs.delete(participant);
    this.lastSeenAtMs.set(participant, atMs);
    if (this.lastSeenAtMs.size > this.namesMax) {
      const oldest = this.lastSeenAtMs.keys().next();
      if (oldest.done !== true) this.lastSeenAtMs.delete(oldest.value);
    }
  }

  /** Epoch milliseconds, or null if not heard from since this node started (or forgotten). */
  lastSeenAtMsOf(participant: string): number | null {
    return this.lastSeenAtMs.get(participant) ?? null;
  }

  names(): string[] {
    return [...this.lastSeenAtMs.keys()];
  }
}
