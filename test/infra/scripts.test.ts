/**
 * The service scripts themselves, on a second instance with free ports and a temporary
 * directory (never the shared one on the default port): start prints the address, a restart
 * keeps the data (what the fault tests rely on), stop leaves no process and no open port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { requireService, tcpReachable } from '../support/services.js';
import { freshGroupId, freshTopic, testKafka, testProducer, warmGroupCoordinator } from '../support/kafka.js';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;

async function script(name: string, args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run('bash', [join(root, 'scripts', name), ...args], {
      env: { ...process.env, ...env },
      timeout: 300_000,
    });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('kafka.sh: start, restart keeps data, stop leaves no process', { timeout: 300_000 }, async (t) => {
  // jars missing: fetching them takes a minute, so outside CI this asks for `npm run kafka:start` first
  const ok = await requireService(t, {
    name: 'KAFKA JARS',
    hint: 'npm run kafka:start (or bash scripts/kafka.sh fetch) once, to cache the broker jars',
    probe: async () => (await script('kafka.sh', ['cached'], {})).code === 0,
  });
  if (!ok) return;
  const dir = await mkdtemp(join(tmpdir(), 'kafka-script-test-'));
  const port = await freePort();
  const env = { KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(await freePort()), KAFKA_RUN_DIR: dir, KAFKA_HEAP: '256m' };
  t.after(async () => {
    await script('kafka.sh', ['stop'], env);
    await rm(dir, { recursive: true, force: true });
  });

  const started = await script('kafka.sh', ['start'], env);
  assert.equal(started.code, 0, started.out);
  const brokers = [`127.0.0.1:${port}`];
  assert.match(started.out, new RegExp(`KAFKA_BROKERS=127\\.0\\.0\\.1:${port}`));
  assert.equal((await script('kafka.sh', ['status'], env)).code, 0);
  assert.equal((await script('kafka.sh', ['start'], env)).code, 0, 'a second start is a no-op');

  const kafka = testKafka('script-test', brokers);
  const topic = await freshTopic('script', 1, {}, kafka);
  const producer = testProducer(kafka);
  await producer.connect();
  await producer.send({ topic, messages: [{ key: 'k', value: 'kept across restart' }] });
  await producer.disconnect();

  const firstPid = Number(await readFile(join(dir, 'kafka.pid'), 'utf8'));
  const restarted = await script('kafka.sh', ['restart'], env);
  assert.equal(restarted.code, 0, restarted.out);
  assert.equal(alive(firstPid), false, 'the old broker process is gone');

  await warmGroupCoordinator(brokers);
  const consumer = kafka.consumer({ kafkaJS: { groupId: freshGroupId('script'), maxWaitTimeInMs: 100, fromBeginning: true } });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  const value = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no record within 30 s after restart')), 30_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        clearTimeout(timer);
        resolve(message.value?.toString() ?? '');
      },
    });
  });
  await consumer.disconnect();
  assert.equal(value, 'kept across restart');

  const pid = Number(await readFile(join(dir, 'kafka.pid'), 'utf8'));
  const stopped = await script('kafka.sh', ['stop'], env);
  assert.equal(stopped.code, 0, stopped.out);
  assert.equal(alive(pid), false, `broker pid ${pid} still alive after stop`);
  assert.equal(existsSync(join(dir, 'kafka.pid')), false, 'pid file removed');
  assert.equal(await tcpReachable('127.0.0.1', port, 500), false, 'port closed');
  assert.equal((await script('kafka.sh', ['status'], env)).code, 3);
});

test('postgres.sh: start, restart keeps data, stop closes the port', { timeout: 180_000 }, async (t) => {
  const ok = await requireService(t, {
    name: 'POSTGRESQL BINARIES',
    hint: 'bash scripts/setup-system.sh (Debian package postgresql)',
    probe: async () => existsSync('/usr/lib/postgresql'),
  });
  if (!ok) return;
  const base = await mkdtemp(join(tmpdir(), 'pg-script-test-'));
  const port = await freePort();
  const env = { PG_PORT: String(port), PG_RUN_DIR: join(base, 'pg'), PG_PASSWORD: 'p4ss' };
  t.after(async () => {
    await script('postgres.sh', ['stop'], env);
    await rm(base, { recursive: true, force: true });
  });

  const started = await script('postgres.sh', ['start'], env);
  assert.equal(started.code, 0, started.out);
  const url = `postgres://sentiment:p4ss@127.0.0.1:${port}/sentiment`;
  assert.match(started.out, new RegExp(`PG_URL=${url.replace(/[.]/g, '\\.')}`));
  assert.equal((await script('postgres.sh', ['url'], env)).out.trim(), url);

  const write = new pg.Client({ connectionString: url });
  await write.connect();
  await write.query('CREATE TABLE kept (v text); INSERT INTO kept VALUES ($$across restart$$)');
  await write.end();

  const restarted = await script('postgres.sh', ['restart'], env);
  assert.equal(restarted.code, 0, restarted.out);
  const read = new pg.Client({ connectionString: url });
  await read.connect();
  const rows = await read.query('SELECT v FROM kept');
  await read.end();
  assert.deepEqual(rows.rows, [{ v: 'across restart' }]);

  assert.equal((await script('postgres.sh', ['stop'], env)).code, 0);
  assert.equal(await tcpReachable('127.0.0.1', port, 500), false, 'port closed');
  assert.equal((await script('postgres.sh', ['status'], env)).code, 3);
});
