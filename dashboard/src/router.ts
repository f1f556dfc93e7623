/** Path routing with the History API (the server answers index.html for app paths). */
export type Route = { view: 'live' } | { view: 'history' } | { view: 'call'; id: string };

let listener: (() => void) | null = null;

export function parseRoute(path = location.pathname): Route {
  if (path === '/history') return { view: 'history' };
  const m = /^\/call\/(.+)$/.exec(path);
  if (m) return { view: 'call', id: decodeURIComponent(m[1]) };
  return { view: 'live' };
}

export function navigate(path: string): void {
  if (path !== location.pathname + location.search) history.pushState(null, '', path);
  listener?.();
}

export function onRoute(f: () => void): void {
  listener = f;
  addEventListener('popstate', f);
}

/**
 * Moves focus to the main heading of the view just rendered, so a screen reader announces the
 * new page and Tab continues from there (as after a full page load). Headings that take it
 * carry `data-route-heading` and tabIndex -1 (focusable by script, not a Tab stop).
 */
export function focusRouteHeading(): void {
  document.querySelector<HTMLElement>('main [data-route-heading]')?.focus();
}
