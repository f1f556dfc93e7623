/** The shell: header with navigation and connection state, then the routed view. */
import type { Api, ConnectionState } from './api.js';
import { CallPage } from './CallPage.js';
import { HistoryView } from './HistoryView.js';
import { LiveView } from './LiveView.js';
import { Link } from './Link.js';
import type { Model } from './model.js';
import type { Route } from './router.js';

const STATE_TEXT: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting… (showing what was received so far)',
};

export function App({ api, model, route, conn, version }: { api: Api; model: Model; route: Route; conn: ConnectionState; version: number }) {
  const link = (path: string, text: string, active: boolean) => (
    <Link to={path} aria-current={active ? 'page' : undefined}>
      {text}
    </Link>
  );
  return (
    <>
      <header class="top">
        <h1>Call sentiment</h1>
        <nav aria-label="Views">
          {link('/', 'Live', route.view === 'live')}
          {link('/history', 'History', route.view === 'history')}
        </nav>
        <p class={`conn conn-${conn}`} role="status" data-testid="conn" data-state={conn}>
          <span aria-hidden="true">{conn === 'live' ? '●' : '○'}</span> {STATE_TEXT[conn]}
        </p>
      </header>
      <main id="main" tabIndex={-1} data-version={version}>
        {route.view === 'live' && <LiveView model={model} />}
        {route.view === 'history' && <HistoryView api={api} />}
        {route.view === 'call' && <CallPage api={api} model={model} id={route.id} />}
      </main>
    </>
  );
}
