import { unwatchFile, watchFile, type Stats } from 'node:fs';

export type ReloadResult = { ok: true } | { ok: false; error: unknown };

/**
 * Re-reads a configuration file when it changes and hands the new configuration to `apply`; an
 * invalid file is reported and the running configuration kept. watchFile (stat polling) rather
 * than fs.watch: editors and Kubernetes ConfigMap updates replace the file (a new inode, or a
 * symlink swap), which fs.watch loses. One reload at a time; a change during one is read after it.
 */
export function watchConfigFile<T>(
  file: string,
  load: () => T | Promise<T>,
  apply: (config: T) => void | Promise<void>,
  report: (r: ReloadResult) => void,
  opts: { intervalMs?: number } = {},
): () => void {
  let running: Promise<void> = Promise.resolve();
  const listener = (cur: Stats, prev: Stats) => {
    if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size && cur.ino === prev.ino) return;
    running = running.then(async () => {
      try {
        await apply(await load());
        report({ ok: true });
      } catch (error) {
        report({ ok: false, error });
      }
    });
  };
  watchFile(file, { interval: opts.intervalMs ?? 1000 }, listener);
  return () => unwatchFile(file, listener);
}
