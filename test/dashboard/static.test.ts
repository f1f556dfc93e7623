import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createStaticHandler } from '../../src/http/static.js';

let server: Server;
let base = '';
let dir = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'static-'));
  const root = join(dir, 'dist');
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(root, 'assets', 'app-1234.js'), 'console.log(1)');
  writeFileSync(join(root, 'assets', 'app.css'), 'body{}');
  writeFileSync(join(dir, 'secret.txt'), 'secret');
  symlinkSync(join(dir, 'secret.txt'), join(root, 'link.txt'));
  const handler = createStaticHandler({ root });
  server = createServer(async (req, res) => {
    if (!(await handler(req, res))) {
      res.writeHead(599);
      res.end('next route');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const get = (path: string, method = 'GET') => fetch(base + path, { method });

test('serves files with their content types and cache policy', async () => {
  const js = await get('/assets/app-1234.js');
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.match(js.headers.get('cache-control') ?? '', /immutable/);
  assert.equal(await js.text(), 'console.log(1)');
  assert.equal((await get('/assets/app.css')).headers.get('content-type'), 'text/css; charset=utf-8');
  const html = await get('/');
  assert.equal(html.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(html.headers.get('cache-control'), 'no-cache');
  assert.match(html.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  assert.equal(html.headers.get('x-content-type-options'), 'nosniff');
  const head = await get('/assets/app.css', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
});

test('SPA fallback for app paths; 404 for missing files; other routes and methods fall through', async () => {
  const spa = await get('/call/abc-1');
  assert.equal(spa.status, 200);
  assert.match(await spa.text(), /<title>app/);
  assert.equal((await get('/assets/missing.js')).status, 404);
  assert.equal((await get('/graphql')).status, 599);
  assert.equal((await get('/metrics')).status, 599);
  assert.equal((await fetch(`${base}/`, { method: 'POST' })).status, 599);
});

test('no path traversal: dot-dot, encoded separators, NUL, symlinks out of the root', async () => {
  for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/%2e%2e%5csecret.txt', '/a%00.js', '/link.txt']) {
    const r = await get(p);
    const body = await r.text();
    assert.notEqual(body, 'secret', `${p} leaked the file`);
    assert.ok(r.status === 404 || (r.status === 200 && /<title>app/.test(body)), `${p}: ${r.status}`);
  }
});
