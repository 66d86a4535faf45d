/**
 * Advances a source's cursor in discovery order although units finish out of order: the cursor
 * after unit n is committed only when units 0..n are all done, so a crash never skips a unit that
 * was still being read when a later one finished.
 */
export class OrderedCommit<C> {
  private next = 0;
  private committedUpTo = 0;
  private readonly done = new Map<number, C>();

  /** Registers a unit in discovery order; returns its ticket. */
  add(): number {
    return this.next++;
  }

  /**
   * Marks a unit done with the cursor after it; returns the cursor to commit when this completes
   * a contiguous prefix (the newest of it), or undefined when an earlier unit is still pending.
   */
  complete(ticket: number, cursor: C): C | undefined {
    if (ticket < this.committedUpTo || ticket >= this.next) throw new Error(`ordered commit: ticket ${ticket} is not pending`);
    this.done.set(ticket, cursor);
    let latest: C | undefined;
    while (this.done.has(this.committedUpTo)) {
      latest = this.done.get(this.committedUpTo);
      this.done.delete(this.committedUpTo);
      this.committedUpTo++;
    }
    return latest;
  }

  get pending(): number {
    return this.next - this.committedUpTo;
  }
}

/** A counting semaphore: the process-wide bound on units read at once. */
export class Semaphore {
  private readonly waiters: (() => void)[] = [];
  constructor(private free: number) {}

  async acquire(signal?: AbortSignal): Promise<void> {
    if (this.free > 0) { this.free--; return; }
    await new Promise<void>((resolve, reject) => {
      const w = () => { signal?.removeEventListener('abort', onAbort); resolve(); };
      const onAbort = () => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(w);
    });
  }

  release(): void {
    const w = this.waiters.shift();
    if (w) w();
    else this.free++;
  }
}
