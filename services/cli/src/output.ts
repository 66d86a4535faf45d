import type { Writable } from 'node:stream';

/**
 * Buffered writer for stdout: joins lines into ~1 MiB chunks (one write syscall per chunk,
 * not per flow) and waits for 'drain' so a slow reader bounds our memory.
 * A closed pipe (`sightline parse ... | head`) ends output quietly instead of crashing.
 */
export class LineWriter {
  private buf: string[] = [];
  private size = 0;
  closed = false;

  constructor(
    private readonly out: Writable,
    private readonly chunkChars = 1 << 20,
  ) {
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.closed = true;
      else throw err;
    });
  }

  /** Appends one line (without its newline); returns a promise only when the caller must wait. */
  line(s: string): Promise<void> | undefined {
    this.buf.push(s);
    this.size += s.length + 1;
    if (this.size >= this.chunkChars) return this.flush();
    return undefined;
  }

  async flush(): Promise<void> {
    if (this.buf.length === 0) return;
    const chunk = this.buf.join('\n') + '\n';
    this.buf = [];
    this.size = 0;
    if (this.closed) return;
    if (!this.out.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.out.off('drain', done);
          this.out.off('close', done);
          resolve();
        };
        this.out.on('drain', done);
        this.out.on('close', done);
      });
    }
  }
}
