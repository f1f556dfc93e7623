/**
 * When a credential runs out on an open socket (docs/security.md): the close code, and a timer
 * that fires at the credential's expiry. Shared by the GraphQL socket (src/graphql/ws.ts) and
 * the ingest sockets (src/ingest/ws/endpoint.ts), which both close a socket whose token expired.
 */

/**
 * Close code of a socket whose credential expired while it was open. 4403, not 4401: graphql-ws
 * clients treat 4401 as fatal but retry 4403, calling a `connectionParams` function again, so a
 * client that refreshes its token reconnects by itself; a client that sends the same expired
 * token again gets 4401 (fatal) and stops.
 */
export const TOKEN_EXPIRED_CLOSE_CODE = 4403;

/** setTimeout caps delays at 2^31 - 1 ms (24.8 days); longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `fn` at wall-clock `atMs`; returns a cancel function. */
export function callAt(atMs: number, fn: () => void): () => void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const wait = atMs - Date.now();
    if (wait <= 0) return fn();
    timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}
