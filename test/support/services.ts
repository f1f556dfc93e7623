/**
 * Shared rule for tests that need an outside service (Kafka, PostgreSQL, a browser):
 * when the service is absent, the test FAILS in CI (`CI=true`, where `.ci/run` starts every
 * service, so absence is a bug) and is SKIPPED LOUDLY elsewhere (a warning on stderr and the
 * skip reason in the runner's summary), so a laptop without Kafka still runs the rest.
 *
 * Usage:
 * ```ts
 * test('round trip', async (t) => {
 *   const brokers = await requireKafka(t);
 *   if (!brokers) return; // skipped (never reached in CI: there it failed)
 *   ...
 * });
 * ```
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { TestContext } from 'node:test';

/** True when the suite runs in CI (`CI=true`): missing services fail instead of skipping. */
export function inCI(): boolean {
  return process.env.CI === 'true';
}

/** A service a test needs, as the skip/fail message names it. */
export interface ServiceSpec {
  /** Upper-case name in the message, e.g. `KAFKA`. */
  name: string;
  /** How to start it, e.g. `npm run kafka:start`. */
  hint: string;
  /** Resolves true when the service answers; must settle within a few seconds. */
  probe: () => Promise<boolean>;
}

const probes = new Map<string, Promise<boolean>>();

/**
 * Checks a service once per process (the answer is cached under `spec.name`, so a file with
 * fifty Kafka tests probes once) and applies the CI rule. Returns true when the test may
 * go on; false after `t.skip()`, in which case the test must return at once.
 */
export async function requireService(t: TestContext, spec: ServiceSpec): Promise<boolean> {
  let up = probes.get(spec.name);
  if (!up) {
    up = spec.probe().catch(() => false);
    probes.set(spec.name, up);
  }
  if (await up) return true;
  const message = `${spec.name} NOT RUNNING: start it with ${spec.hint}`;
  if (inCI()) assert.fail(`${message} (CI=true: a missing service is a failure)`);
  console.warn(`!! ${message} -- skipping "${t.name}"`);
  t.skip(message);
  return false;
}

/** Forgets cached probe results (for tests that stop and start a service themselves). */
export function forgetProbes(): void {
  probes.clear();
}

/**
 * Resolves true when a TCP connection to host:port opens within `timeoutMs` (default 1500 ms).
 * Cheap reachability only; protocol-level checks belong to the service's own helper.
 */
export function tcpReachable(host: string, port: number, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
