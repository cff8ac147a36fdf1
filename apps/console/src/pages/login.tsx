import { useState } from 'preact/hooks';

export function LoginPage(props: { onSignIn: (key: string) => Promise<void>; notice: string | null }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(props.notice);
  const [busy, setBusy] = useState(false);

  const submit = (event: Event): void => {
    event.preventDefault();
    setBusy(true);
    props.onSignIn(key.trim()).then(
      () => setBusy(false),
      (failure: unknown) => {
        setBusy(false);
        setError(failure instanceof Error ? failure.message : String(failure));
      },
    );
  };

  return (
    <form class="login" onSubmit={submit}>
      <h1>Verdict console</h1>
      <p>
        Sign in with an API key. An operator key can resolve and retry transactions; a service key reads only.
      </p>
      <label>
        API key
        <input
          type="password"
          name="apiKey"
          autocomplete="off"
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
          required
        />
      </label>
      <button type="submit" disabled={busy || key.trim() === ''}>
        Sign in
      </button>
      {error !== null && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <p class="hint">The key is kept in this tab only (session storage) and sent to this node alone.</p>
    </form>
  );
}
