/**
 * The Kafka client is an optional dependency (its install builds librdkafka, which not every
 * machine can): the embedded product must start and serve without it, and Kafka mode must say
 * plainly what is missing (CONFIG_INVALID, exit 2) instead of a stack trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { repoRoot } from '../../src/app/paths.js';

const HIDE = new URL('./fixtures/without-kafka-client.mjs', import.meta.url).href;

interface Run { code: number | null; out: string }

/** Runs src/main.ts without the Kafka client; sends SIGTERM once `until` matches its output, and resolves when it exits. */
function runMain(env: Record<string, string>, until: RegExp | null, timeoutMs = 90_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const base: NodeJS.ProcessEnv = { ...process.env };
    delete base.KAFKA_BROKERS; // the suite's broker, when one runs: this test picks its own mode
    const proc = spawn(process.execPath, ['--import', HIDE, '--import', 'tsx', 'src/main.ts'], {
      cwd: repoRoot(),
      env: { ...base, PORT: '0', DEMO: '0', DB_PATH: ':memory:', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`no outcome in ${timeoutMs} ms:\n${out.slice(-3000)}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString('utf8');
      if (until && until.test(out)) {
        until = null;
        proc.kill('SIGTERM'); // the timer stays: a shutdown that hangs fails the test
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

test('the embedded product starts without the Kafka client installed, and SIGTERM stops it cleanly', async () => {
  const r = await runMain({}, /"sentiment server started"/);
  assert.match(r.out, /"sentiment server started"/, r.out.slice(-3000));
  assert.doesNotMatch(r.out, /kafka-javascript/, 'the embedded product never asked for the Kafka client');
  // Apollo's own SIGTERM handler once raced the app's shutdown and hung it in apollo.stop().
  assert.match(r.out, /"sentiment server stopped"/, r.out.slice(-3000));
  assert.equal(r.code, 0);
});

test('Kafka mode without the Kafka client exits 2 with CONFIG_INVALID naming the missing package', async () => {
  const r = await runMain({ KAFKA_BROKERS: '127.0.0.1:1' }, null);
  assert.equal(r.code, 2, r.out.slice(-3000));
  assert.match(r.out, /invalid configuration: KAFKA_BROKERS: Kafka mode needs the optional dependency @confluentinc\/kafka-javascript/);
  assert.doesNotMatch(r.out, /\n\s+at /, 'one line, no stack trace');
});
