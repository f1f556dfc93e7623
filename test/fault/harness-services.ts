/**
 * Private Kafka brokers and PostgreSQL clusters for the fault tests: the project's own scripts
 * (scripts/kafka.sh, scripts/postgres.sh) run on free loopback ports in a temporary folder, so a
 * test can stop and restart "its" service without touching the shared one on the default ports
 * (other tests and engineers keep using that). Each is stopped and deleted on `t.after`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../../src/app/paths.js';
import { createKafka, type Kafka } from '../../src/kafka/client.js';
import { warmGroupCoordinator } from '../support/kafka.js';
import { requireService } from '../support/services.js';

const run = promisify(execFile);

/** Runs `bash scripts/<name> <args>` with `env` over ours; throws with its output on a non-zero exit. */
export async function script(name: string, args: string[], env: Record<string, string>, timeoutMs = 180_000): Promise<string> {
  try {
    const { stdout, stderr } = await run('bash', [join(repoRoot(), 'scripts', name), ...args], { env: { ...process.env, ...env }, timeout: timeoutMs });
    return `${stdout}${stderr}`;
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    throw new Error(`scripts/${name} ${args.join(' ')} failed (exit ${e.code}):\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it; a race with another process is possible but rare). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** A service of ours: its env for the script, and stop/start/restart with wall times in ms. */
export interface PrivateService {
  /** The script's settings (ports, run folder): pass to `script()` for other commands. */
  env: Record<string, string>;
  /** Stops the service (clean shutdown); resolves with the ms it took. */
  stop(): Promise<number>;
  /** Starts it again on the same ports with the same data; resolves with the ms it took. */
  start(): Promise<number>;
}

export interface PrivateKafka extends PrivateService {
  /** Bootstrap address list, e.g. ['127.0.0.1:40123']. */
  brokers: string[];
}

export interface PrivatePostgres extends PrivateService {
  /** postgres://sentiment:<password>@127.0.0.1:<port>/sentiment */
  url: string;
}

function service(name: string, env: Record<string, string>): PrivateService {
  const timed = async (cmd: string): Promise<number> => {
    const t0 = Date.now();
    await script(name, [cmd], env);
    return Date.now() - t0;
  };
  return { env, stop: () => timed('stop'), start: () => timed('start') };
}

/**
 * Starts a single-node Kafka of our own (heap 256 MiB) on two free ports, in a temporary folder.
 * Needs the broker's jars in the cache (`bash scripts/kafka.sh fetch`, done by any earlier
 * `kafka.sh start`); without them the test fails in CI and skips loudly elsewhere (null).
 */
export async function privateKafka(t: TestContext): Promise<PrivateKafka | null> {
  const ok = await requireService(t, {
    name: 'KAFKA JARS',
    hint: 'bash scripts/kafka.sh fetch (or npm run kafka:start) once, to cache the broker jars',
    probe: async () => {
      try {
        await script('kafka.sh', ['cached'], {}, 10_000);
        return true;
      } catch {
        return false;
      }
    },
  });
  if (!ok) return null;
  const dir = mkdtempSync(join(tmpdir(), 'fault-kafka-'));
  const port = await freePort();
  const env = { KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(await freePort()), KAFKA_RUN_DIR: dir, KAFKA_HEAP: '256m' };
  const svc = service('kafka.sh', env);
  t.after(async () => {
    await svc.stop().catch((e: unknown) => console.warn(`private Kafka on ${port} did not stop: ${String(e)}`));
    rmSync(dir, { recursive: true, force: true });
  });
  const brokers = [`127.0.0.1:${port}`];
  const t0 = Date.now();
  await svc.start();
  await warmGroupCoordinator(brokers);
  console.log(`private Kafka on ${brokers[0]} ready in ${Date.now() - t0} ms`);
  return { ...svc, brokers };
}

/**
 * Starts a PostgreSQL cluster of our own (Debian's binaries, initdb in a temporary folder) on a
 * free port. Without the binaries the test fails in CI and skips loudly elsewhere (null).
 */
export async function privatePostgres(t: TestContext): Promise<PrivatePostgres | null> {
  const ok = await requireService(t, {
    name: 'POSTGRESQL BINARIES',
    hint: 'bash scripts/setup-system.sh (Debian package postgresql)',
    probe: async () => existsSync('/usr/lib/postgresql'),
  });
  if (!ok) return null;
  const base = mkdtempSync(join(tmpdir(), 'fault-pg-'));
  const port = await freePort();
  const env = { PG_PORT: String(port), PG_RUN_DIR: join(base, 'pg'), PG_PASSWORD: 'fault' };
  const svc = service('postgres.sh', env);
  t.after(async () => {
    await svc.stop().catch((e: unknown) => console.warn(`private PostgreSQL on ${port} did not stop: ${String(e)}`));
    rmSync(base, { recursive: true, force: true });
  });
  const t0 = Date.now();
  await svc.start();
  console.log(`private PostgreSQL on 127.0.0.1:${port} ready in ${Date.now() - t0} ms`);
  return { ...svc, url: `postgres://sentiment:fault@127.0.0.1:${port}/sentiment` };
}

/**
 * A client like test/support's testKafka that logs nothing: while a test stops its broker on
 * purpose, every failed connection would otherwise print an error line. (librdkafka keeps a
 * send queued while the broker is down and delivers it once it is back.)
 */
export function quietKafka(clientId: string, brokers: string[]): Kafka {
  return createKafka({ clientId, brokers });
}
