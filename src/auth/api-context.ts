/**
 * Who is calling: the one place the API learns the caller's tenant. Every resolver and every
 * subscription filters on `ApiContext.tenant`; nothing reads a tenant from arguments.
 *
 * The auth hook (issue 4) is a ContextFunction: verify a JWT / API key from the Authorization
 * header (HTTP) or from connectionParams (graphql-ws, checked once when the socket connects)
 * and yield the tenant; throw AppError UNAUTHENTICATED or FORBIDDEN to refuse (HTTP answers
 * 401/403 with the code; a socket is closed with 4401/4403).
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface ApiContext {
  /** The caller's tenant; all reads and subscriptions are limited to it. */
  tenant: string;
  /** How the caller was identified (e.g. 'dev', 'jwt:<sub>', 'api-key:<id>'), for logs. */
  principal: string;
  /**
   * When the credential stops being valid, ms since the unix epoch (a JWT's exp). A WebSocket
   * authenticated with it is closed then with TOKEN_EXPIRED_CLOSE_CODE (src/auth/expiry.ts).
   * Absent: the credential does not expire (dev mode, API keys).
   */
  expiresAtMs?: number;
}

/** What a ContextFunction sees of a request. */
export type ContextRequest =
  | { transport: 'http'; headers: IncomingHttpHeaders }
  | { transport: 'ws'; headers: IncomingHttpHeaders; connectionParams: Readonly<Record<string, unknown>> | undefined };

export type ContextFunction = (req: ContextRequest) => Promise<ApiContext> | ApiContext;

/**
 * The embedded dev mode: every caller is `tenant`, unauthenticated. Only for a server that
 * listens on loopback or was started in explicit dev mode (the app prints that loudly).
 */
export function devContext(tenant: string): ContextFunction {
  const ctx: ApiContext = Object.freeze({ tenant, principal: 'dev' });
  return () => ctx;
}
