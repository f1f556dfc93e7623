/**
 * A small static-file handler for the built dashboard (dashboard/dist), to mount before the
 * GraphQL route (src/graphql/http.ts `extraRoutes`).
 *
 * - GET and HEAD only; anything else, and the excluded paths (default /graphql, /metrics,
 *   /healthz), fall through (returns false) to the next route.
 * - No path traversal: the decoded path is resolved inside `root` and checked to stay there,
 *   after symlinks (realpath); `..`, NUL bytes, backslashes and encoded slashes are refused (404).
 * - SPA fallback: a path with no file extension that is not a file answers index.html, so
 *   /history/call-7 reloads into the app; a missing file with an extension is a 404.
 * - Content types from the extension; `nosniff`; index.html is `no-cache` (it names the hashed
 *   assets), /assets/* (Vite's content-hashed files) are cached for a year, immutable.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';

/** Content types by extension (lower case, with the dot). */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** Served to HTML: only this origin's scripts and styles; sockets to this origin. */
const HTML_CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export interface StaticOptions {
  /** Folder to serve (e.g. dashboard/dist). */
  root: string;
  /** Path prefixes left to other routes (default ['/graphql', '/metrics', '/healthz']). */
  exclude?: string[];
}

export type StaticHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export function createStaticHandler(o: StaticOptions): StaticHandler {
  const root = resolve(o.root);
  const exclude = o.exclude ?? ['/graphql', '/metrics', '/healthz'];
  let realRoot: string | null = null;

  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      return false;
    }
    if (exclude.some((p) => pathname === p || pathname.startsWith(`${p}/`))) return false;
    if (realRoot === null) {
      try {
        realRoot = await realpath(root);
      } catch {
        return false; // not built: let the next route answer
      }
    }
    if (/%2f|%5c|%00/i.test(pathname)) return notFound(res);
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return notFound(res);
    }
    if (decoded.includes('\0') || decoded.includes('\\') || decoded.split('/').includes('..')) return notFound(res);

    const rel = decoded === '/' ? 'index.html' : decoded.replace(/^\/+/, '');
    const file = await inside(realRoot, resolve(realRoot, rel));
    if (file) return send(req, res, file, rel.startsWith('assets/'));
    if (extname(decoded) !== '') return notFound(res);
    const index = await inside(realRoot, resolve(realRoot, 'index.html'));
    return index ? send(req, res, index, false) : notFound(res);
  };
}

/** The file's real path when it is a regular file inside root, else null. */
async function inside(realRoot: string, path: string): Promise<string | null> {
  try {
    const real = await realpath(path);
    if (real !== realRoot && !real.startsWith(realRoot + sep)) return null;
    return (await stat(real)).isFile() ? real : null;
  } catch {
    return null;
  }
}

function notFound(res: ServerResponse): true {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
  res.end('not found');
  return true;
}

async function send(req: IncomingMessage, res: ServerResponse, file: string, immutable: boolean): Promise<true> {
  const ext = extname(file).toLowerCase();
  const type = CONTENT_TYPES[ext] ?? 'application/octet-stream';
  const { size } = await stat(file);
  const headers: Record<string, string | number> = {
    'content-type': type,
    'content-length': size,
    'x-content-type-options': 'nosniff',
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
  if (ext === '.html') headers['content-security-policy'] = HTML_CSP;
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    res.end();
    return true;
  }
  await new Promise<void>((done) => {
    const stream = createReadStream(file);
    stream.on('error', () => {
      res.destroy();
      done();
    });
    stream.on('end', () => done());
    stream.pipe(res);
  });
  return true;
}
