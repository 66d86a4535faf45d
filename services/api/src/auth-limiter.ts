import { isIP } from 'node:net';

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

/**
 * The bucket a client address falls in: an IPv4 address as such (an IPv4-mapped IPv6 address, as
 * a dual-stack listener reports it, is that IPv4 address), an IPv6 address by its /64. One host is
 * usually given a whole /64 and may pick any address in it: keyed by the full address, each of its
 * 2^64 addresses would get a fresh burst of failures and a remembered entry of its own.
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const addr = address.split('%')[0]!.toLowerCase();
  if (isIP(addr) !== 6) return addr;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(addr);
  if (mapped) return mapped[1]!;
  const [head = '', tail] = addr.split('::');
  const groups = (s: string | undefined) => (s === undefined || s === '' ? [] : s.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${all.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}
