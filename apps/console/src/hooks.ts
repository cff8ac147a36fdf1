import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Polled<T> {
  readonly data: T | null;
  readonly error: Error | null;
  /** Loads again now, e.g. after an action changed what is shown. */
  readonly refresh: () => void;
}

/**
 * Calls `load` now and then `intervalMs` after each answer (never two calls in flight), until
 * the component unmounts or `key` changes. The last good data stays visible while a call fails.
 */
export function usePolling<T>(load: () => Promise<T>, intervalMs: number, key: string): Polled<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const loadRef = useRef(load);
  loadRef.current = load;
  const wake = useRef<() => void>(() => undefined);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setData(null);
    setError(null);
    const tick = async (): Promise<void> => {
      clearTimeout(timer);
      try {
        const value = await loadRef.current();
        if (stopped) return;
        setData(value);
        setError(null);
      } catch (failure) {
        if (stopped) return;
        setError(failure instanceof Error ? failure : new Error(String(failure)));
      }
      if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
    };
    wake.current = (): void => void tick();
    void tick();
    return (): void => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [key, intervalMs]);

  const refresh = useCallback(() => wake.current(), []);
  return { data, error, refresh };
}

/** The current time, updated every `intervalMs`, so ages keep counting between polls. */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return (): void => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/** The page named by the URL fragment: `#/transactions`, `#/transactions/<id>`, `#/cluster`. */
export type Route =
  | { readonly page: 'transactions' }
  | { readonly page: 'transaction'; readonly txId: string }
  | { readonly page: 'cluster' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const transaction = /^\/transactions\/([^/?#]+)$/.exec(path);
  if (transaction?.[1] !== undefined)
    return { page: 'transaction', txId: decodeURIComponent(transaction[1]) };
  if (path === '/cluster') return { page: 'cluster' };
  return { page: 'transactions' };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = (): void => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return (): void => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
