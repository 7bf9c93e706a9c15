import { useCallback, useEffect, useState } from 'preact/hooks';
import { describeFailure, type Failure } from '../api.js';

export interface Loaded<T> {
  data?: T | undefined;
  failure?: Failure | undefined;
  loading: boolean;
  reload(): void;
}

/** Loads data for a page, again whenever `deps` change or `reload` is called. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; failure?: Failure; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => current && setState({ data, loading: false }),
      (error) => current && setState({ failure: describeFailure(error), loading: false }),
    );
    return () => {
      current = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** Runs one action at a time, keeping its failure for the place that shows it. */
export function useAction(): {
  busy: boolean;
  failure: Failure | undefined;
  run<T>(action: () => Promise<T>): Promise<T | undefined>;
  clear(): void;
} {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<Failure | undefined>();
  const run = useCallback(async <T>(action: () => Promise<T>) => {
    setBusy(true);
    setFailure(undefined);
    try {
      return await action();
    } catch (error) {
      setFailure(describeFailure(error));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, failure, run, clear: () => setFailure(undefined) };
}
