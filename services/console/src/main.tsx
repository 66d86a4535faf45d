import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api, loadApiShape, savedToken, saveToken, type ApiShape } from './api.js';
import { AppContext, type Ctx } from './context.js';
import { FilterBar, TimeRange } from './controls.js';
import { MapPage } from './map-page.js';
import { FlowsPage, HealthPage, SeriesPage, TopPage } from './pages.js';
import { formatHash, PAGE_TITLES, PAGES, parseHash, resolveRange, type View } from './view.js';
import './style.css';

function SignIn(props: { onToken(t: string): void; error: string | null }) {
  const [value, setValue] = useState('');
  return (
    <main class="signin">
      <h1>Sightline</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim() !== '') props.onToken(value.trim());
        }}
      >
        <label for="token">Read token</label>
        {/* a password field: not echoed, not offered for autofill history */}
        <input id="token" name="token" type="password" autocomplete="off" value={value} onInput={(e) => setValue(e.currentTarget.value)} autofocus />
        <button type="submit">Sign in</button>
        {props.error && <p class="error" role="alert">{props.error}</p>}
        <p class="hint">The token of your tenant (from <code>pnpm start</code>'s output, or your operator). It is kept in this tab only.</p>
      </form>
    </main>
  );
}

function useHashView(): [View, (v: View) => void] {
  const [view, setViewState] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setViewState(parseHash(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  const setView = (v: View) => {
    const h = formatHash(v);
    if (h !== location.hash) location.hash = h;
    else setViewState(v);
  };
  return [view, setView];
}

function App() {
  const [token, setToken] = useState<string | null>(() => savedToken());
  const [signInError, setSignInError] = useState<string | null>(null);
  const [shape, setShape] = useState<ApiShape | null>(null);
  const [view, setView] = useHashView();
  const signOut = (why: string | null) => {
    saveToken(null);
    setToken(null);
    setSignInError(why);
  };
  const api = useMemo(() => (token === null ? null : new Api(token, () => signOut('The token was refused (401): sign in again.'))), [token]);
  useEffect(() => {
    loadApiShape().then(setShape, (e: unknown) => setSignInError(`The API's description could not be read: ${String(e)}`));
  }, []);
  // a view stays on one range for all its queries; a new navigation (or Refresh) resolves `now` again
  const [nonce, setNonce] = useState(0);
  const range = useMemo(() => {
    try {
      return resolveRange(view);
    } catch {
      return resolveRange({ from: 'now-1h', to: 'now' });
    }
  }, [view.from, view.to, nonce]);

  if (api === null || shape === null)
    return (
      <SignIn
        error={signInError}
        onToken={(t) => {
          const candidate = new Api(t);
          candidate.check().then(
            () => {
              saveToken(t);
              setSignInError(null);
              setToken(t);
            },
            (e: unknown) => setSignInError(e instanceof Error && 'status' in e && (e as { status: number }).status === 401 ? 'Unknown token.' : `Sign-in failed: ${String(e)}`),
          );
        }}
      />
    );
  const ctx: Ctx = { api, shape, view, range, setView };
  return (
    <AppContext.Provider value={ctx}>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
      <header>
        <span class="brand">Sightline</span>
        <nav aria-label="Pages">
          {PAGES.map((p, i) => (
            <a href={formatHash({ ...view, page: p, extra: {} })} aria-current={view.page === p ? 'page' : undefined} data-page={p} title={`${PAGE_TITLES[p]} (Alt+${i + 1})`}>
              {PAGE_TITLES[p]}
            </a>
          ))}
        </nav>
        <button class="signout" type="button" onClick={() => signOut(null)}>Sign out</button>
      </header>
      <section class="bar" aria-label="View">
        <TimeRange onRefresh={() => setNonce((n) => n + 1)} />
        <FilterBar />
      </section>
      <main id="main" tabIndex={-1} data-page={view.page}>
        <h1>{PAGE_TITLES[view.page]}</h1>
        {view.page === 'map' && <MapPage />}
        {view.page === 'top' && <TopPage />}
        {view.page === 'series' && <SeriesPage />}
        {view.page === 'flows' && <FlowsPage />}
        {view.page === 'health' && <HealthPage />}
      </main>
    </AppContext.Provider>
  );
}

// Alt+1..5 switch pages (the nav links say so in their titles)
addEventListener('keydown', (e) => {
  if (!e.altKey || e.ctrlKey || e.metaKey) return;
  const p = PAGES[Number(e.key) - 1];
  if (p === undefined) return;
  e.preventDefault();
  location.hash = formatHash({ ...parseHash(location.hash), page: p, extra: {} });
});

render(<App />, document.getElementById('app')!);
