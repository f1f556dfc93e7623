/**
 * The one config schema: the defaults are the ones each module had before (behaviour unchanged),
 * every numeric / enum / URL / SCORER_* value is validated, and every bad variable is reported at
 * once in one ConfigError (CONFIG_INVALID) with name, value and why; secrets are never echoed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from '../../src/app/config.js';
import { repoRoot } from '../../src/app/paths.js';
import { AppError } from '../../src/core/errors.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../src/http/connection-limits.js';
import { DEFAULT_QUERY_LIMITS } from '../../src/graphql/limits.js';

const refusal = (e: unknown): ConfigError => {
  assert.ok(e instanceof ConfigError && e instanceof AppError, `expected a ConfigError, got ${String(e)}`);
  assert.equal(e.code, 'CONFIG_INVALID');
  return e;
};
const problemsOf = (env: NodeJS.ProcessEnv) => {
  try {
    loadConfig(env);
  } catch (e) {
    return refusal(e).problems;
  }
  assert.fail(`accepted ${JSON.stringify(env)}`);
};

test('an empty environment gives the defaults every module used before', () => {
  const c = loadConfig({});
  const { instanceId, providers, ...rest } = c;
  assert.match(instanceId, /^[a-zA-Z0-9._-]+-\d+-[0-9a-f]{6}$/);
  assert.ok(providers.length > 0 && providers.at(-1) === 'cpu');
  assert.deepEqual(JSON.parse(JSON.stringify(rest)), JSON.parse(JSON.stringify({
    port: 4000, host: '127.0.0.1', dataDir: resolve('./data'), dbPath: resolve('./data', 'scores.db'), pgUrl: null,
    auth: { mode: 'dev', devTenant: 'demo', jwt: null, apiKeys: null },
    queryLimits: DEFAULT_QUERY_LIMITS, connectionLimits: DEFAULT_CONNECTION_LIMITS, origins: { allowed: [], devMode: true },
    kafkaBrokers: null, kafkaTopic: 'call-chunks', kafkaGroup: 'sentiment-stream', kafkaSessionTimeoutMs: 30_000,
    scoresTopic: 'call-chunks.scores', lagSampleMs: 10_000, modelDir: null,
    scorerWorkers: 'auto', scorerIntraOpThreads: 1, scorerTextBatch: 1, latencyPreset: 'balanced', vadHangoverMs: null, ingestAudioRecordMs: 200, windowOpenAudioBytes: 96_000_000,
    speech: { modelDir: join(repoRoot(), 'models', 'speech-whisper-tiny-en'), maxQueue: 8, deadlineMs: 2000, minContextMs: null },
    demo: true, demoCalls: 3, demoVideo: false, devTenant: 'demo', chunkDefaultTenant: null, kafkaMaxMessageBytes: null,
    logLevel: 'info', handover: { replayMaxMs: 900_000, holdMaxRecords: 500_000 },
  })));
});

test('derived defaults: Kafka turns the demo off, SCORES_TOPIC follows KAFKA_TOPIC, empty means unset', () => {
  const k = loadConfig({ KAFKA_BROKERS: ' 127.0.0.1:9092, [::1]:9093 ', KAFKA_TOPIC: 'chunks-a', PORT: '', DB_PATH: ':memory:' });
  assert.deepEqual(k.kafkaBrokers, ['127.0.0.1:9092', '[::1]:9093']);
  assert.equal(k.demo, false);
  assert.equal(k.scoresTopic, 'chunks-a.scores');
  assert.equal(k.port, 4000);
  assert.equal(k.dbPath, ':memory:');
  assert.equal(loadConfig({ SCORES_TOPIC: 'off' }).scoresTopic, null);
  assert.equal(loadConfig({ KAFKA_BROKERS: 'b:9092', DEMO: 'on' }).demo, true);
  assert.deepEqual(loadConfig({ SCORER_PROVIDERS: 'WebGPU, cpu,,cpu' }).providers, ['webgpu', 'cpu']);
  const s = loadConfig({ SCORER_WORKERS: '2', SCORER_INTRA_OP_THREADS: '4', SCORER_TEXT_BATCH: '32', SCORER_SPEECH: 'off' });
  assert.deepEqual([s.scorerWorkers, s.scorerIntraOpThreads, s.scorerTextBatch, s.speech], [2, 4, 32, null]);
  assert.equal(loadConfig({ SCORER_WORKERS: ' Auto ' }).scorerWorkers, 'auto');
  assert.deepEqual(problemsOf({ SCORER_WORKERS: 'all' }).map((p) => p.reason), ['not `auto` or an integer in 1..64']);
  assert.equal(loadConfig({ VAD_HANGOVER_MS: '400' }).vadHangoverMs, 400);
  assert.equal(loadConfig({ WINDOW_OPEN_AUDIO_MB: '400' }).windowOpenAudioBytes, 400_000_000);
});

test('LATENCY_PRESET: balanced by default (speech path on); end-of-speech turns the speech path off; anything else is refused', () => {
  const d = loadConfig({});
  assert.equal(d.latencyPreset, 'balanced');
  assert.notEqual(d.speech, null);
  const e = loadConfig({ LATENCY_PRESET: 'end-of-speech' });
  assert.deepEqual([e.latencyPreset, e.speech], ['end-of-speech', null]);
  // Platform frames are held for less under end-of-speech (src/ingest/ws/audio-coalescer.ts).
  assert.deepEqual([d.ingestAudioRecordMs, e.ingestAudioRecordMs], [200, 100]);
  assert.equal(loadConfig({ LATENCY_PRESET: 'end-of-speech', INGEST_AUDIO_RECORD_MS: '0' }).ingestAudioRecordMs, 0);
  assert.deepEqual(problemsOf({ LATENCY_PRESET: 'fast' }).map((p) => p.variable), ['LATENCY_PRESET']);
});

test('every bad variable is listed at once, with its value and why', () => {
  const env = {
    PORT: 'eighty', LOG_LEVEL: 'loud', KAFKA_BROKERS: 'broker-without-port', KAFKA_TOPIC: 'bad topic',
    SCORER_WORKERS: '0', SCORER_INTRA_OP_THREADS: 'two', SCORER_TEXT_BATCH: '1.5', SCORER_PROVIDERS: 'cpu,tpu',
    SCORER_SPEECH_QUEUE: '-1', SCORER_SPEECH: 'sometimes', API_MAX_DEPTH: '101', JWT_JWKS_URL: 'http://keys.example.com/jwks',
  };
  let error: ConfigError | null = null;
  try {
    loadConfig(env);
  } catch (e) {
    error = refusal(e);
  }
  assert.ok(error);
  assert.deepEqual(error.problems.map((p) => p.variable).sort(), Object.keys(env).sort());
  for (const p of error.problems) {
    assert.equal(p.value, env[p.variable as keyof typeof env], `${p.variable} carries its value`);
    assert.ok(error.message.includes(`${p.variable}=${JSON.stringify(p.value)}: ${p.reason}`), p.variable);
  }
  const why = Object.fromEntries(error.problems.map((p) => [p.variable, p.reason]));
  assert.equal(why.PORT, 'not an integer in 0..65535');
  assert.match(why.SCORER_PROVIDERS, /"tpu" is not one of cuda, webgpu, cpu/);
  assert.match(why.KAFKA_BROKERS, /not host:port/);
  assert.match(why.JWT_JWKS_URL, /https/);
  assert.equal(error.details.variable, error.problems.map((p) => p.variable).join(', '));
});

test('secrets are never echoed: JWT_HS256_SECRET, API_KEYS, PG_URL (its password)', () => {
  const env = { AUTH_MODE: 'jwt+apikey', JWT_HS256_SECRET: 'hunter2-short', API_KEYS: 'acme:hunter3', PG_URL: 'mysql://u:hunter4@db/x' };
  try {
    loadConfig(env);
    assert.fail('accepted');
  } catch (e) {
    const err = refusal(e);
    assert.deepEqual(err.problems.map((p) => p.variable).sort(), ['API_KEYS', 'JWT_HS256_SECRET', 'PG_URL']);
    assert.ok(err.problems.every((p) => p.value === undefined));
    assert.doesNotMatch(err.message, /hunter/);
  }
});

test('each numeric variable is held to its bounds, both ends', () => {
  const bounds: [string, number, number][] = [
    ['PORT', 0, 65535], ['KAFKA_SESSION_TIMEOUT_MS', 6000, 300_000], ['LAG_SAMPLE_MS', 100, 3_600_000], ['SCORER_WORKERS', 1, 64],
    ['SCORER_INTRA_OP_THREADS', 1, 64], ['SCORER_TEXT_BATCH', 1, 256], ['SCORER_SPEECH_QUEUE', 1, 10_000], ['SCORER_SPEECH_DEADLINE_MS', 1, 600_000], ['VAD_HANGOVER_MS', 0, 10_000], ['SPEECH_MIN_CONTEXT_MS', 0, 30_000],
    ['DEMO_CALLS', 1, 1000], ['KAFKA_MAX_MESSAGE_BYTES', 4096, 2_147_483_647], ['HANDOVER_REPLAY_MAX_MS', 0, 86_400_000],
    ['HANDOVER_HOLD_MAX_RECORDS', 1, 50_000_000], ['JWT_CLOCK_TOLERANCE_S', 0, 300], ['API_MAX_DEPTH', 1, 100], ['API_MAX_TOKENS', 1, 1_000_000],
  ];
  for (const [name, min, max] of bounds) {
    loadConfig({ [name]: String(min) });
    loadConfig({ [name]: String(max) });
    assert.deepEqual(problemsOf({ [name]: String(min - 1) }).map((p) => p.variable), [name]);
    assert.deepEqual(problemsOf({ [name]: String(max + 1) }).map((p) => p.variable), [name]);
    assert.deepEqual(problemsOf({ [name]: ' ' }).map((p) => p.variable), [name], `${name}: blank is not 0`);
  }
});

test('the config is frozen all the way down', () => {
  const c = loadConfig({ AUTH_MODE: 'apikey', API_KEYS: `acme:${'ab'.repeat(32)}` });
  for (const part of [c, c.auth, c.auth.apiKeys, c.auth.apiKeys![0], c.queryLimits, c.connectionLimits, c.origins, c.origins.allowed, c.handover, c.providers]) {
    assert.ok(Object.isFrozen(part));
  }
  assert.throws(() => {
    (c as { port: number }).port = 1;
  }, TypeError);
});

test('a mode\'s required settings are checked across variables, in the same error', () => {
  assert.deepEqual(problemsOf({ AUTH_MODE: 'JWT', PORT: '-1' }).map((p) => `${p.variable}: ${p.reason}`).sort(), [
    'AUTH_MODE: jwt needs JWT_HS256_SECRET, JWT_RS256_PUBLIC_KEY or JWT_JWKS_URL', 'PORT: not an integer in 0..65535',
  ]);
  assert.deepEqual(problemsOf({ AUTH_MODE: 'jwt+apikey', JWT_HS256_SECRET: 'x'.repeat(32) }).map((p) => p.variable), ['API_KEYS']);
});
