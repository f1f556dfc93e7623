/**
 * The configuration: the environment parsed once at start against the one schema
 * (config/schema.ts) into a typed, frozen AppConfig that app/ passes down as each stage's plain
 * options. A bad value stops the process with one ConfigError (CONFIG_INVALID) listing every bad
 * variable, before anything is opened. Every option has a default that runs the embedded product
 * on one machine with nothing but Node. No other module reads process.env (test/config/ checks).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AuthConfig } from '../auth/config.js';
import { ConfigError, type ConfigProblem } from '../core/errors.js';
import type { QueryLimits } from '../graphql/limits.js';
import type { ConnectionLimits } from '../http/connection-limits.js';
import type { OriginPolicy } from '../http/origin.js';
import type { LatencyPreset } from '../window/options.js';
import { CONFIG_VARS, type ConfigVarName } from './config/schema.js';
import { repoRoot } from './paths.js';

export { ConfigError } from '../core/errors.js';

export interface AppConfig {
  /** HTTP + WebSocket port (PORT, default 4000; 0 picks a free one). */
  port: number;
  /** Interface to bind (HOST, default 127.0.0.1). */
  host: string;
  /** PostgreSQL URL (PG_URL). Set: scores, calls and alerts live in PostgreSQL (several instances
   *  share it); unset: the embedded SQLite file. */
  pgUrl: string | null;
  /** How API callers are identified (AUTH_MODE and friends: src/auth/config.ts; default dev). */
  auth: AuthConfig;
  /** GraphQL depth / cost / tokens / introspection / operations-per-socket limits (src/graphql/limits.ts;
   *  API_INTROSPECTION defaults to on in dev mode only). */
  queryLimits: QueryLimits;
  /** WebSockets per source address and per tenant, subscriptions per tenant
   *  (API_MAX_SOCKETS_PER_SOURCE, API_MAX_SOCKETS_PER_TENANT, API_MAX_SUBSCRIPTIONS_PER_TENANT:
   *  src/http/connection-limits.ts). */
  connectionLimits: ConnectionLimits;
  /** Web pages allowed to open a socket or call /graphql (API_ALLOWED_ORIGINS; dev mode: loopback
   *  origins only; other modes: the server's own origin): src/http/origin.ts. */
  origins: OriginPolicy;
  /** Folder for the embedded SQLite file (DATA_DIR, default ./data). */
  dataDir: string;
  /** SQLite file, or ':memory:' (DB_PATH, default <dataDir>/scores.db). */
  dbPath: string;
  /** Kafka brokers, comma-separated (KAFKA_BROKERS). Unset: in-process ingest, no Kafka. */
  kafkaBrokers: string[] | null;
  /** Topic of media chunks (KAFKA_TOPIC, default call-chunks). Dead letters go to <topic>.dlq. */
  kafkaTopic: string;
  /** Consumer group (KAFKA_GROUP, default sentiment-stream). */
  kafkaGroup: string;
  /** Kafka group session timeout, ms (KAFKA_SESSION_TIMEOUT_MS, default 30000): how long a dead
   *  instance's partitions wait before the group gives them to the others. */
  kafkaSessionTimeoutMs: number;
  /** Scores topic for several instances (SCORES_TOPIC, default <KAFKA_TOPIC>.scores; "off": none,
   *  subscribers then see only this instance's calls). */
  scoresTopic: string | null;
  /** This process's id in the cluster (INSTANCE_ID, default <hostname>-<pid>-<random>): names its
   *  scores consumer group and marks the records it produces. Must be unique per process. */
  instanceId: string;
  /** Consumer lag sampling period, ms (LAG_SAMPLE_MS, default 10000). */
  lagSampleMs: number;
  /** Model folder (MODEL_DIR; default: the folder named in models/CURRENT). */
  modelDir: string | null;
  /** Execution providers in order of preference (SCORER_PROVIDERS). Each that fails to load falls
   *  back to the next; Query.modelInfo says which runs and why the others failed. Default:
   *  cuda,webgpu,cpu on a machine with a GPU device node, else cpu (so a CPU-only box does not
   *  print two provider load failures at every start). */
  providers: string[];
  /** Scoring worker threads (SCORER_WORKERS): a count, or `auto` (the default): chosen at start
   *  from the usable cores, leaving one to the main thread (src/score/worker-count.ts). */
  scorerWorkers: number | 'auto';
  /** onnxruntime intra-op threads per worker (SCORER_INTRA_OP_THREADS, default 1). */
  scorerIntraOpThreads: number;
  /** Most transcripts per text-encoder run (SCORER_TEXT_BATCH, default 1). */
  scorerTextBatch: number;
  /**
   * The speech path (src/score/speech-route.ts): words recognised from a text-missing segment's
   * audio, read by the text encoder. SCORER_SPEECH on/off (default on); SCORER_SPEECH_QUEUE
   * segments queued for or in recognition at once (default 8); SCORER_SPEECH_DEADLINE_MS from a
   * segment reaching the scorer to its words (default 2000); beyond either the segment is scored
   * on simulated text. SPEECH_MODEL_DIR (default models/speech-whisper-tiny-en); SPEECH_MIN_CONTEXT_MS
   * the encoder's shortest context (null: the model's, 10 s). Null when off.
   */
  speech: { modelDir: string; maxQueue: number; deadlineMs: number; minContextMs: number | null } | null;
  /** When a segment is first scored (LATENCY_PRESET, default balanced: src/window/options.ts
   *  LATENCY_PRESETS). `end-of-speech` also turns the speech path off (its recognition would
   *  hold the first score back by up to SCORER_SPEECH_DEADLINE_MS). */
  latencyPreset: LatencyPreset;
  /** VAD hangover, ms (VAD_HANGOVER_MS); null: the preset's (800, or 400 under end-of-speech). */
  vadHangoverMs: number | null;
  /** Open audio a partition's window may hold, bytes of float32 (WINDOW_OPEN_AUDIO_MB x 10^6,
   *  default 96 MB = the window's own default of 24,000,000 samples); sealed history gets twice. */
  windowOpenAudioBytes: number;
  /** Audio per record that /ingest/twilio and /ingest/audiohook join frames into, ms
   *  (INGEST_AUDIO_RECORD_MS; default 200, 100 under end-of-speech: src/ingest/ws/audio-coalescer.ts). */
  ingestAudioRecordMs: number;
  /** Stream synthetic demo calls from fixtures/calls (DEMO, default on when Kafka is off). */
  demo: boolean;
  /** Concurrent demo calls (DEMO_CALLS, default 3). */
  demoCalls: number;
  /** With authentication on: tenant of a chunk without x-tenant (CHUNK_DEFAULT_TENANT; unset:
   *  such a chunk is rejected CHUNK_MISSING_TENANT). Dev mode uses DEV_TENANT instead. */
  chunkDefaultTenant: string | null;
  /** Largest dead-letter record the broker takes, bytes (KAFKA_MAX_MESSAGE_BYTES; unset: learned
   *  from the dead-letter topic's max.message.bytes at start). A bigger copy is written as a
   *  reference (src/ingest/dead-letter.ts). */
  kafkaMaxMessageBytes: number | null;
  /** Demo calls stream face features too (DEMO_VIDEO, default off: phone calls are audio-only). */
  demoVideo: boolean;
  /** Tenant for the embedded dev mode (DEV_TENANT, default demo). */
  devTenant: string;
  /** Log level (LOG_LEVEL, default info). */
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /**
   * Exact hand-over (src/window/commit-hold.ts): the record that opened a call holds its
   * partition's commit point until the call's final status is stored, so a new owner replays the
   * call from its start. HANDOVER_REPLAY_MAX_MS (default 900000, 15 min; 0: no holds): a call open
   * longer, in event time, gives its hold up; HANDOVER_HOLD_MAX_RECORDS (default 500000): so does
   * one that would keep more records of its partition uncommitted. Either way the call's later
   * hand-over continues from the stored cut (approximate: docs/operations.md).
   */
  handover: { replayMaxMs: number; holdMaxRecords: number };
}

/**
 * The tenant of a chunk without `x-tenant` (schema/chunk-contract.md, "Tenant"): in dev mode the
 * dev callers' tenant, so the call is visible to them; with authentication on, CHUNK_DEFAULT_TENANT,
 * or null (the chunk is rejected CHUNK_MISSING_TENANT) rather than a guess.
 */
export function chunkTenantRule(config: Pick<AppConfig, 'auth' | 'devTenant' | 'chunkDefaultTenant'>): string | null {
  return config.auth.mode === 'dev' ? config.devTenant : config.chunkDefaultTenant;
}

/** Each variable's parsed value (undefined: unset where the default is derived below). */
type EnvValues = { [K in ConfigVarName]: (typeof CONFIG_VARS)[K] extends { schema: { _zod: { output: infer T } } } ? T : never };

/** Parses every variable of the schema; every refusal is collected, none stops the others. */
function parseVars(env: NodeJS.ProcessEnv, problems: ConfigProblem[]): EnvValues {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(CONFIG_VARS)) {
    const raw = env[name];
    const r = spec.schema.safeParse(raw);
    if (r.success) values[name] = r.data;
    else problems.push({ variable: name, value: spec.secret ? undefined : raw, reason: r.error.issues.map((i) => i.message).join('; ') });
  }
  return values as EnvValues;
}

/** Rules across variables: a mode's required settings. */
function checkModes(env: NodeJS.ProcessEnv, v: EnvValues, problems: ConfigProblem[]): void {
  const mode = v.AUTH_MODE;
  if (mode === undefined) return;
  if ((mode === 'jwt' || mode === 'jwt+apikey') && !env.JWT_HS256_SECRET && !env.JWT_RS256_PUBLIC_KEY && !env.JWT_JWKS_URL) {
    problems.push({ variable: 'AUTH_MODE', value: env.AUTH_MODE, reason: `${mode} needs JWT_HS256_SECRET, JWT_RS256_PUBLIC_KEY or JWT_JWKS_URL` });
  }
  if ((mode === 'apikey' || mode === 'jwt+apikey') && !env.API_KEYS?.trim()) {
    problems.push({ variable: 'API_KEYS', reason: 'apikey modes need at least one tenant:sha256hex entry' });
  }
}

/** <hostname>-<pid>-<random>, reduced to the INSTANCE_ID alphabet. */
function defaultInstanceId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`.replace(/[^a-zA-Z0-9._-]/g, '-');
}

/** cuda,webgpu,cpu when a GPU device node exists (NVIDIA or DRM render node), else cpu. */
function defaultProviders(): string[] {
  const gpu = existsSync('/dev/nvidia0') || existsSync('/dev/dri/renderD128');
  return gpu ? ['cuda', 'webgpu', 'cpu'] : ['cpu'];
}

/** Freezes the config all the way down (typed arrays, which cannot be frozen, are left as they are). */
function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || Object.isFrozen(value)) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}

/** AppConfig from parsed values: derived defaults, and each stage's options. */
function build(v: EnvValues): AppConfig {
  const dataDir = resolve(v.DATA_DIR ?? './data');
  const devMode = v.AUTH_MODE === 'dev';
  const kafkaTopic = v.KAFKA_TOPIC ?? 'call-chunks';
  const auth: AuthConfig = {
    mode: v.AUTH_MODE,
    devTenant: v.DEV_TENANT ?? 'demo',
    jwt: v.AUTH_MODE === 'jwt' || v.AUTH_MODE === 'jwt+apikey'
      ? {
        hs256Secret: v.JWT_HS256_SECRET ?? null,
        rs256: [v.JWT_RS256_PUBLIC_KEY, v.JWT_JWKS_URL].filter((k) => k !== undefined),
        issuer: v.JWT_ISSUER ?? null,
        audience: v.JWT_AUDIENCE ?? null,
        tenantClaim: v.JWT_TENANT_CLAIM ?? 'tenant',
        clockToleranceS: v.JWT_CLOCK_TOLERANCE_S,
      }
      : null,
    apiKeys: v.AUTH_MODE === 'apikey' || v.AUTH_MODE === 'jwt+apikey' ? v.API_KEYS ?? null : null,
  };
  return {
    port: v.PORT,
    host: v.HOST ?? '127.0.0.1',
    dataDir,
    dbPath: v.DB_PATH ?? resolve(dataDir, 'scores.db'),
    pgUrl: v.PG_URL ?? null,
    auth,
    queryLimits: {
      maxDepth: v.API_MAX_DEPTH,
      maxCost: v.API_MAX_COST,
      maxOperationsPerConnection: v.API_MAX_SUBSCRIPTIONS_PER_CONNECTION,
      maxTokens: v.API_MAX_TOKENS,
      introspection: v.API_INTROSPECTION ?? devMode,
    },
    connectionLimits: {
      maxSocketsPerSource: v.API_MAX_SOCKETS_PER_SOURCE,
      maxSocketsPerTenant: v.API_MAX_SOCKETS_PER_TENANT,
      maxSubscriptionsPerTenant: v.API_MAX_SUBSCRIPTIONS_PER_TENANT,
    },
    origins: { allowed: v.API_ALLOWED_ORIGINS ?? [], devMode },
    kafkaBrokers: v.KAFKA_BROKERS ?? null,
    kafkaTopic,
    kafkaGroup: v.KAFKA_GROUP ?? 'sentiment-stream',
    kafkaSessionTimeoutMs: v.KAFKA_SESSION_TIMEOUT_MS,
    scoresTopic: v.SCORES_TOPIC === 'off' ? null : v.SCORES_TOPIC ?? `${kafkaTopic}.scores`,
    instanceId: v.INSTANCE_ID ?? defaultInstanceId(),
    lagSampleMs: v.LAG_SAMPLE_MS,
    modelDir: v.MODEL_DIR ? resolve(v.MODEL_DIR) : null,
    providers: v.SCORER_PROVIDERS ?? defaultProviders(),
    scorerWorkers: v.SCORER_WORKERS ?? 'auto',
    scorerIntraOpThreads: v.SCORER_INTRA_OP_THREADS,
    scorerTextBatch: v.SCORER_TEXT_BATCH,
    latencyPreset: v.LATENCY_PRESET,
    vadHangoverMs: v.VAD_HANGOVER_MS,
    windowOpenAudioBytes: v.WINDOW_OPEN_AUDIO_MB * 1_000_000,
    ingestAudioRecordMs: v.INGEST_AUDIO_RECORD_MS ?? (v.LATENCY_PRESET === 'end-of-speech' ? 100 : 200),
    speech: v.SCORER_SPEECH && v.LATENCY_PRESET !== 'end-of-speech'
      ? {
        modelDir: resolve(v.SPEECH_MODEL_DIR ?? join(repoRoot(), 'models', 'speech-whisper-tiny-en')),
        maxQueue: v.SCORER_SPEECH_QUEUE,
        deadlineMs: v.SCORER_SPEECH_DEADLINE_MS,
        minContextMs: v.SPEECH_MIN_CONTEXT_MS,
      }
      : null,
    demo: v.DEMO ?? v.KAFKA_BROKERS === undefined,
    demoCalls: v.DEMO_CALLS,
    demoVideo: v.DEMO_VIDEO,
    devTenant: v.DEV_TENANT ?? 'demo',
    chunkDefaultTenant: v.CHUNK_DEFAULT_TENANT ?? null,
    kafkaMaxMessageBytes: v.KAFKA_MAX_MESSAGE_BYTES,
    logLevel: v.LOG_LEVEL,
    handover: { replayMaxMs: v.HANDOVER_REPLAY_MAX_MS, holdMaxRecords: v.HANDOVER_HOLD_MAX_RECORDS },
  };
}

/**
 * Reads the environment once (tests pass their own object). Throws one ConfigError listing every
 * bad variable, with its value (secrets hidden) and why.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const problems: ConfigProblem[] = [];
  const values = parseVars(env, problems);
  checkModes(env, values, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(build(values));
}
