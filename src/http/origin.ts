/**
 * Which web pages may talk to the API (issue 13, finding 6: cross-site WebSocket hijacking).
 *
 * A browser attaches `Origin` to every WebSocket upgrade and to cross-site (and same-origin
 * non-GET) fetches; a page cannot forge it. Without a check, any site open in a browser on the
 * machine could open ws://127.0.0.1:4000/graphql, which in dev mode needs no credentials, read
 * live transcripts and switch alert rules off. So the upgrade and /graphql check it:
 *
 * - no `Origin` header: allowed. Browsers always send one on an upgrade, so this is a
 *   non-browser client (Node, curl, a backend); credentials still apply outside dev mode.
 * - listed in API_ALLOWED_ORIGINS (exact `scheme://host[:port]`; `*` allows every origin): allowed.
 * - dev mode: an origin on loopback (localhost, 127.0.0.0/8, [::1]) is allowed; nothing else.
 *   The server has no credentials to protect it, so "same origin" is not trusted either: a
 *   DNS-rebinding page (evil.example resolving to 127.0.0.1) is same-origin by its Host header.
 *   For the same reason dev mode refuses a request whose `Host` is a domain name other than
 *   localhost or a listed origin's host (a rebound page's same-origin GET carries no Origin).
 * - other modes: the server's own origin (Origin host = Host header: the dashboard it serves)
 *   is allowed as well.
 *
 * A refusal is FORBIDDEN (HTTP 403) before any GraphQL is read; on an upgrade, before the
 * socket opens, so no graphql-ws message is ever exchanged.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { AppError, ConfigError } from '../core/errors.js';

export interface OriginPolicy {
  /** Origins allowed besides the defaults below, normalised (`URL.origin`); '*' allows any. */
  allowed: readonly string[];
  /** Dev mode: allow loopback origins only (and check Host against DNS rebinding). */
  devMode: boolean;
}

/**
 * Parses API_ALLOWED_ORIGINS (comma-separated `scheme://host[:port]`, or `*`) into normalised
 * origins; the one config schema calls it, so a malformed entry is a CONFIG_INVALID problem.
 */
export function parseAllowedOrigins(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter(Boolean).map((item) => {
    if (item === '*') return '*';
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      throw new ConfigError([{ variable: 'API_ALLOWED_ORIGINS', value: raw, reason: `${JSON.stringify(item)} is not an origin (scheme://host[:port])` }]);
    }
    if (!['http:', 'https:'].includes(url.protocol) || url.pathname !== '/' || url.search || url.hash || url.username) {
      throw new ConfigError([{ variable: 'API_ALLOWED_ORIGINS', value: raw, reason: `${JSON.stringify(item)} must be scheme://host[:port] with http or https and no path` }]);
    }
    return url.origin;
  });
}

/** localhost, *.localhost, 127.0.0.0/8, ::1 (brackets stripped). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1' || h === '0:0:0:0:0:0:0:1';
}

function one(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Hostname of a Host header value (`name:port`, `[v6]:port`). */
function hostnameOf(host: string): string {
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return '';
  }
}

/** Why a request with these headers may not use the API, or null when it may. */
export function originRefusal(policy: OriginPolicy, headers: IncomingHttpHeaders): AppError | null {
  const any = policy.allowed.includes('*');
  const host = one(headers, 'host') ?? '';
  if (policy.devMode && !any) {
    const name = hostnameOf(host);
    const listedHost = policy.allowed.some((o) => new URL(o).host === host.toLowerCase());
    if (!(isIP(name.replace(/^\[|\]$/g, '')) || isLoopbackHost(name) || listedHost)) {
      return new AppError('FORBIDDEN', { reason: `host ${JSON.stringify(host.slice(0, 100))} is not served in dev mode (use localhost or an IP, or list the origin in API_ALLOWED_ORIGINS)` });
    }
  }
  const origin = one(headers, 'origin');
  if (origin === undefined || any) return null;
  let url: URL | null = null;
  try {
    url = new URL(origin);
  } catch {
    url = null; // "null" (sandboxed frames, file://) or garbage: no origin to trust
  }
  if (url && policy.allowed.includes(url.origin)) return null;
  if (url && policy.devMode && isLoopbackHost(url.hostname)) return null;
  if (url && !policy.devMode && url.host === host.toLowerCase()) return null;
  return new AppError('FORBIDDEN', { reason: `origin ${JSON.stringify(origin.slice(0, 100))} is not allowed (API_ALLOWED_ORIGINS)` });
}
