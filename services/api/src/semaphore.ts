/**
 * At most `limit` holders at once, at most `maxQueued` waiting, each waiting at most `waitMs`.
 * The api inflates gzip bodies under one, so a burst of uploads costs at most `limit` cores and
 * `limit` times the inflated-size limit of memory, whatever the number of connections.
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly limit: number,
    readonly maxQueued: number,
  ) {}

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * A release function once a slot is free, or null when the queue is full, the wait ran past
   * `waitMs` or `signal` aborted (the client went away). Release exactly once.
   */
  acquire(waitMs: number, signal?: AbortSignal): Promise<(() => void) | null> {
    if (signal?.aborted) return Promise.resolve(null);
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.maxQueued || waitMs <= 0) return Promise.resolve(null);
    return new Promise((resolve) => {
      const give = () => {
        cleanup();
        // the slot passes straight from the releaser to this waiter: `active` stays as it is
        resolve(this.releaser());
      };
      const giveUp = () => {
        cleanup();
        const i = this.waiting.indexOf(give);
        if (i !== -1) this.waiting.splice(i, 1);
        resolve(null);
      };
      const timer = setTimeout(giveUp, waitMs);
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', giveUp);
      };
      signal?.addEventListener('abort', giveUp, { once: true });
      this.waiting.push(give);
    });
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }
}
