import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api, ApiError, type Session } from './api';
import { useRoute } from './hooks';
import { ClusterPage } from './pages/cluster';
import { LoginPage } from './pages/login';
import { TransactionPage } from './pages/transaction';
import { TransactionsPage } from './pages/transactions';

/** The key lives for this browser tab only: closing the tab signs out. */
const KEY_STORAGE = 'verdict.apiKey';

export function App() {
  const [key, setKey] = useState<string | null>(sessionStorage.getItem(KEY_STORAGE));
  const [session, setSession] = useState<Session | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const route = useRoute();
  const api = useMemo(() => (key === null ? null : new Api(key)), [key]);

  const signOut = (why: string | null): void => {
    sessionStorage.removeItem(KEY_STORAGE);
    setKey(null);
    setSession(null);
    setNotice(why);
  };

  useEffect(() => {
    if (api === null) return;
    api.session().then(setSession, (error: unknown) => {
      if (error instanceof ApiError && error.status === 401) signOut(error.message);
      else setNotice(error instanceof Error ? error.message : String(error));
    });
  }, [api]);

  const signIn = async (candidate: string): Promise<void> => {
    const found = await new Api(candidate).session();
    sessionStorage.setItem(KEY_STORAGE, candidate);
    setNotice(null);
    setKey(candidate);
    setSession(found);
  };

  if (api === null) return <LoginPage onSignIn={signIn} notice={notice} />;
  if (session === null) return <p class="loading">{notice ?? 'Checking the API key…'}</p>;

  const onUnauthorized = (error: Error): void => {
    if (error instanceof ApiError && error.status === 401) signOut(error.message);
  };
  return (
    <div class="shell">
      <header class="top">
        <span class="brand">Verdict</span>
        <nav>
          <a href="#/transactions" class={route.page === 'cluster' ? '' : 'current'}>
            Transactions
          </a>
          <a href="#/cluster" class={route.page === 'cluster' ? 'current' : ''}>
            Cluster
          </a>
        </nav>
        <span class="who" data-testid="who">
          {session.actor}
          {session.role === 'service' && <span class="badge">read-only</span>}
        </span>
        <button class="quiet" onClick={() => signOut(null)}>
          Sign out
        </button>
      </header>
      <main>
        {route.page === 'transactions' && <TransactionsPage api={api} onError={onUnauthorized} />}
        {route.page === 'transaction' && (
          <TransactionPage api={api} txId={route.txId} session={session} onError={onUnauthorized} />
        )}
        {route.page === 'cluster' && <ClusterPage api={api} session={session} onError={onUnauthorized} />}
      </main>
    </div>
  );
}
