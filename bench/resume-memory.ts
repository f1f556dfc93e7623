/**
 * Memory of resume subscriptions (issue 13, finding 5): N sockets x M `segmentScored(since:)`
 * subscriptions against a real API server (SQLite :memory:, ScoreHub) in a child process, RSS
 * and heap of that child before, while they are open, and after every socket closed (after a
 * forced GC, and again after 15 s idle). The issue saw 400 x 100 take RSS from 255 MB to 1.97 GB, not returned.
 *
 * Run: node --import tsx bench/resume-memory.ts [sockets=400] [perSocket=100]
 * The server's limits are raised for the run (API_MAX_SOCKETS_PER_TENANT etc.) so the bench
 * measures the buffers, not the limits.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';

interface Mem { rssMb: number; heapMb: number }

if (process.argv[2] === '--server') {
  const pino = (await import('pino')).default;
  const { SqliteScoreStore } = await import('../src/store/sqlite-store.js');
  const { ScoreHub } = await import('../src/publish/hub.js');
  const { createApiServer } = await import('../src/graphql/server.js');
  const store = new SqliteScoreStore({ path: ':memory:' });
  await store.start();
  const hub = new ScoreHub();
  await hub.start();
  const big = 1_000_000;
  const api = createApiServer({
    store, hub, port: 0, logger: pino({ level: 'silent' }), devTenant: 'bench',
    scorerInfo: () => ({ modelVersion: 'bench', executionProvider: 'cpu', providerAttempts: [], workers: 1, metrics: {} }) as never,
    health: () => ({ ok: true, source: 'in-process', store: 'sqlite: ok' }),
    limits: { maxOperationsPerConnection: big },
    connectionLimits: { maxSocketsPerTenant: big, maxSocketsPerSource: big, maxSubscriptionsPerTenant: big },
  } as never);
  await api.start();
  const mem = (): Mem => {
    (globalThis as { gc?: () => void }).gc?.();
    const m = process.memoryUsage();
    return { rssMb: Math.round(m.rss / 1e6), heapMb: Math.round(m.heapUsed / 1e6) };
  };
  process.on('message', (msg: string) => {
    if (msg === 'mem') process.send!({ mem: mem(), subscribers: hub.stats().subscribers });
    if (msg === 'stop') void api.stop().then(() => process.exit(0));
  });
  process.send!({ url: api.wsUrl });
} else {
  const sockets = Number(process.argv[2] ?? 400);
  const perSocket = Number(process.argv[3] ?? 100);
  const child = fork(fileURLToPath(import.meta.url), ['--server'], { execArgv: ['--import', 'tsx', '--expose-gc'] });
  const replies: ((m: any) => void)[] = [];
  child.on('message', (m) => replies.shift()?.(m));
  const ask = (msg?: string) => new Promise<any>((r) => {
    replies.push(r);
    if (msg) child.send(msg);
  });
  const { url } = await ask();
  const before = await ask('mem');
  const clients: Client[] = [];
  let acked = 0;
  let failed = 0;
  const t0 = Date.now();
  // Sockets open 20 at a time, each batch once the server holds the previous one's
  // subscriptions: all at once, a busy 2-core box misses graphql-ws's 3 s init timeout (4408).
  for (let s = 0; s < sockets; s += 20) {
    const batch = Math.min(20, sockets - s);
    for (let b = 0; b < batch; b++) {
      const c = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, onNonLazyError: () => {}, on: { error: () => {} } });
      clients.push(c);
      for (let i = 0; i < perSocket; i++) {
        c.subscribe({ query: 'subscription($s: DateTime!) { segmentScored(since: $s) { segmentIndex } }', variables: { s: new Date(0).toISOString() } }, { next: () => {}, error: () => void failed++, complete: () => {} });
      }
    }
    const want = (s + batch) * perSocket;
    process.stderr.write(`\r${s + batch} sockets, ${acked} subscriptions, ${failed} failed, ${((Date.now() - t0) / 1000).toFixed(0)} s  `);
    for (;;) {
      const m = await ask('mem');
      acked = m.subscribers;
      if (acked + failed >= want || Date.now() - t0 > 600_000) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const during = await ask('mem');
  await Promise.all(clients.map((c) => c.dispose()));
  for (;;) {
    const m = await ask('mem');
    if (m.subscribers === 0 || Date.now() - t0 > 180_000) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 500));
  const after = await ask('mem');
  // V8 gives committed pages back when the process is idle (its memory reducer), not at gc().
  await new Promise((r) => setTimeout(r, 15_000));
  const idle = await ask('mem');
  const perSubKb = Math.round(((during.mem.heapMb - before.mem.heapMb) * 1e6) / Math.max(1, acked) / 1e3 * 10) / 10;
  console.log(JSON.stringify({ sockets, perSocket, subscriptionsOpen: acked, failed, before: before.mem, during: during.mem, after: after.mem, after15sIdle: idle.mem, heapKbPerSubscription: perSubKb, seconds: (Date.now() - t0) / 1000 }));
  child.send('stop');
}
