import { useEffect, useState } from 'preact/hooks';

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
}

/** Runs `load` when `key` changes; a newer run aborts the older (its answer is dropped). */
export function useLoad<T>(key: string, load: (signal: AbortSignal) => Promise<T>): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: null, error: null, loading: true });
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ data: s.data, error: null, loading: true }));
    load(ctl.signal).then(
      (data) => {
        if (!ctl.signal.aborted) setState({ data, error: null, loading: false });
      },
      (err: unknown) => {
        if (!ctl.signal.aborted) setState({ data: null, error: err instanceof Error ? err.message : String(err), loading: false });
      },
    );
    return () => ctl.abort();
  }, [key]);
  return state;
}
