/**
 * Failed authentications per client address, as a token bucket: a client may fail `burst` times
 * in a row, then `perSecond` times a second. A client whose bucket is empty is answered 429
 * before its token is even looked at, so guessing tokens costs the guesser time, not the server
 * CPU. Only failures take from the bucket: an agent with a good token is never slowed down.
 * At most `maxClients` addresses are remembered; the one that failed least recently goes first
 * (forgetting a client only refills its bucket early).
 */
export class FailureLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly opts: { burst: number; perSecond: number; maxClients: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds before `client` may try again; 0 when it may now. */
  blockedFor(client: string): number {
    const b = this.refill(client);
    if (b === undefined || b.tokens >= 1) return 0;
    return Math.ceil(((1 - b.tokens) / this.opts.perSecond) * 1000);
  }

  /** Counts one failure of `client`; true when it has now spent its burst (the next try gets 429). */
  fail(client: string): boolean {
    const b = this.refill(client) ?? { tokens: this.opts.burst, at: this.now() };
    b.tokens = Math.max(0, b.tokens - 1);
    // re-inserted so the Map's order is least recently failed first
    this.buckets.delete(client);
    this.buckets.set(client, b);
    while (this.buckets.size > this.opts.maxClients) {
      const oldest = this.buckets.keys().next().value;
      if (oldest === undefined) break;
      this.buckets.delete(oldest);
    }
    return b.tokens < 1;
  }

  get clients(): number {
    return this.buckets.size;
  }

  private refill(client: string): { tokens: number; at: number } | undefined {
    const b = this.buckets.get(client);
    if (b === undefined) return undefined;
    const t = this.now();
    b.tokens = Math.min(this.opts.burst, b.tokens + ((t - b.at) / 1000) * this.opts.perSecond);
    b.at = t;
    if (b.tokens >= this.opts.burst) {
      // full again: the same as never having failed
      this.buckets.delete(client);
      return undefined;
    }
    return b;
  }
}
