/** Settings of the HTTP edge, fixed at start. */
export interface ApiOptions {
  /** This node's id: names the hop in forwarded requests. */
  readonly nodeId: string;
  /** Fastify's `bodyLimit`; larger bodies are answered 413 before they are parsed. */
  readonly bodyLimitBytes: number;
  /**
   * How long a follower waits for the leader to answer a forwarded request. It bounds
   * `commit?wait=completion` too, so it is generous; a slower answer becomes a 504.
   */
  readonly forwardTimeoutMs: number;
}

export const API_OPTIONS = Symbol('verdict:ApiOptions');

export const BODY_LIMIT_BYTES_DEFAULT = 256 * 1024;
export const FORWARD_TIMEOUT_MS_DEFAULT = 30_000;
