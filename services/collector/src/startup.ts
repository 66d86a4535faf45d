import { errField, type Logger } from './log.js';

/**
 * The collector's start-up as named steps under one deadline. Each step logs when it starts and
 * ends, so a process that never gets up shows in its log where it stands; a step that overruns
 * its attempt or the deadline fails start-up with the step's name, instead of leaving a process
 * that looks alive but never opens its port (seen once with two collectors started together:
 * kafkajs calls retry for minutes, and a consumer's disconnect can wait on a group join in flight).
 */

export class StartupError extends Error {
  constructor(readonly step: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

/** An attempt that did not finish in its time. */
class AttemptTimeout extends Error {}

export interface Attempt {
  /** 1 for the first try */
  attempt: number;
  /** aborted when the attempt is abandoned (overrun or failed): release what it opened */
  signal: AbortSignal;
}

export interface StepOptions {
  /** one attempt may take at most this long (and never past the deadline) */
  attemptMs?: number;
  /** the step is idempotent and may be tried again after a failed or overrun attempt */
  retry?: boolean | ((err: unknown) => boolean);
}

export class Startup {
  private readonly deadline: number;
  private readonly t0: number;

  constructor(
    private readonly log: Logger,
    readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.t0 = now();
    this.deadline = this.t0 + timeoutMs;
  }

  async step<T>(name: string, run: (a: Attempt) => Promise<T>, opts: StepOptions = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const left = this.deadline - this.now();
      if (left <= 0) throw new StartupError(name, `start-up deadline (${this.timeoutMs} ms) passed before step '${name}' (attempt ${attempt})`);
      const budget = Math.min(left, opts.attemptMs ?? left);
      const ctl = new AbortController();
      const started = this.now();
      this.log.info({ step: name, attempt }, `start-up: ${name}`);
      try {
        const v = await within(run({ attempt, signal: ctl.signal }), budget);
        this.log.info({ step: name, attempt, ms: this.now() - started }, `start-up: ${name}: done`);
        return v;
      } catch (err) {
        ctl.abort();
        const overran = err instanceof AttemptTimeout;
        const what = overran
          ? `did not finish within ${budget} ms`
          : `failed: ${err instanceof Error ? err.message : String(err)}`;
        const retriable = typeof opts.retry === 'function' ? opts.retry(err) : opts.retry === true;
        const pause = Math.min(1000 * 2 ** (attempt - 1), 5000);
        if (!retriable || this.deadline - this.now() <= pause) {
          const at = `${this.now() - this.t0} ms into start-up, attempt ${attempt}`;
          throw new StartupError(name, `start-up step '${name}' ${what} (${at}${retriable ? `; deadline ${this.timeoutMs} ms` : ''})`, overran ? {} : { cause: err });
        }
        this.log.warn({ step: name, attempt, retryInMs: pause, ...(overran ? {} : { err: errField(err) }) }, `start-up: ${name} ${what}; retrying`);
        await new Promise((r) => setTimeout(r, pause));
      }
    }
  }
}

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new AttemptTimeout()), ms);
    p.then((v) => { clearTimeout(timer); resolve(v); }, (err: unknown) => { clearTimeout(timer); reject(err); });
  });
}

/**
 * Waits at most `ms` for `p` (a kafkajs disconnect, say); true when it settled in time. A
 * disconnect that never returns must not hold start-up or shutdown: the caller logs and moves on.
 */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((r) => { timer = setTimeout(() => r(false), ms); });
  try {
    return await Promise.race([p.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
