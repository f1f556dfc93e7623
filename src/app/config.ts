/**
 * Configuration from the environment, validated once at start (a bad value stops the process
 * with a message naming the variable, before anything is opened). Every option has a default
 * that runs the embedded product on one machine with nothing but Node.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadAuthConfig, type AuthConfig } from '../auth/config.js';
import { loadQueryLimits, type QueryLimits } from '../graphql/limits.js';
import { type ConnectionLimits, loadConnectionLimits } from '../graphql/connection-limits.js';
import { loadOriginPolicy, type OriginPolicy } from '../graphql/origin.js';
import { repoRoot } from './paths.js';

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
   *  src/graphql/connection-limits.ts). */
  connectionLimits: ConnectionLimits;
  /** Web pages allowed to open a socket or call /graphql (API_ALLOWED_ORIGINS; dev mode: loopback
   *  origins only; other modes: the server's own origin): src/graphql/origin.ts. */
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
  /** Scoring worker threads (SCORER_WORKERS, default 1: this product targets 2-core boxes). */
  scorerWorkers: number;
  /**
   * The speech path (src/score/speech-route.ts): words recognised from a text-missing segment's
   * audio, read by the text encoder. SCORER_SPEECH on/off (default on); SCORER_SPEECH_QUEUE
   * segments queued for or in recognition at once (default 8); SCORER_SPEECH_DEADLINE_MS from a
   * segment reaching the scorer to its words (default 2000); beyond either the segment is scored
   * on simulated text. SPEECH_MODEL_DIR (default models/speech-whisper-tiny-en). Null when off.
   */
  speech: { modelDir: string; maxQueue: number; deadlineMs: number } | null;
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
  logLevel: string;
  /**
   * Exact hand-over (src/cluster/commit-hold.ts): the record that opened a call holds its
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

export class ConfigError extends Error {
  constructor(variable: string, value: string, expected: string) {
    super(`invalid ${variable}=${JSON.stringify(value)}: expected ${expected}`);
    this.name = 'ConfigError';
  }
}

function intVar(env: NodeJS.ProcessEnv, name: string, dflt: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(name, raw, `an integer in ${min}..${max}`);
  return n;
}

function boolVar(env: NodeJS.ProcessEnv, name: string, dflt: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, raw, 'one of 1/0, true/false, yes/no, on/off');
}

function tenantVar(env: NodeJS.ProcessEnv, name: string): string | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  // The chunk contract's limit on x-tenant.
  if (!/^[^\s:,]{1,64}$/.test(raw)) throw new ConfigError(name, raw, '1..64 characters without spaces, : or ,');
  return raw;
}

function listVar(env: NodeJS.ProcessEnv, name: string): string[] | null {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return null;
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

function instanceIdVar(env: NodeJS.ProcessEnv): string {
  const raw = env.INSTANCE_ID;
  if (raw === undefined || raw === '') return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`.replace(/[^a-zA-Z0-9._-]/g, '-');
  if (!/^[a-zA-Z0-9._-]{1,100}$/.test(raw)) throw new ConfigError('INSTANCE_ID', raw, '1-100 characters of a-z A-Z 0-9 . _ -');
  return raw;
}

/** cuda,webgpu,cpu when a GPU device node exists (NVIDIA or DRM render node), else cpu. */
function defaultProviders(): string[] {
  const gpu = existsSync('/dev/nvidia0') || existsSync('/dev/dri/renderD128');
  return gpu ? ['cuda', 'webgpu', 'cpu'] : ['cpu'];
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const dataDir = resolve(env.DATA_DIR || './data');
  const kafkaBrokers = listVar(env, 'KAFKA_BROKERS');
  const providers = listVar(env, 'SCORER_PROVIDERS') ?? defaultProviders();
  for (const p of providers) {
    if (!['cpu', 'webgpu', 'cuda'].includes(p)) throw new ConfigError('SCORER_PROVIDERS', p, 'a list of cuda, webgpu, cpu');
  }
  const auth = loadAuthConfig(env);
  return {
    port: intVar(env, 'PORT', 4000, 0, 65535),
    host: env.HOST || '127.0.0.1',
    dataDir,
    dbPath: env.DB_PATH || resolve(dataDir, 'scores.db'),
    pgUrl: env.PG_URL || null,
    auth,
    queryLimits: loadQueryLimits(env, auth.mode === 'dev'),
    connectionLimits: loadConnectionLimits(env),
    origins: loadOriginPolicy(env, auth.mode === 'dev'),
    kafkaBrokers,
    kafkaTopic: env.KAFKA_TOPIC || 'call-chunks',
    kafkaGroup: env.KAFKA_GROUP || 'sentiment-stream',
    kafkaSessionTimeoutMs: intVar(env, 'KAFKA_SESSION_TIMEOUT_MS', 30_000, 6_000, 300_000),
    scoresTopic: env.SCORES_TOPIC === 'off' ? null : env.SCORES_TOPIC || `${env.KAFKA_TOPIC || 'call-chunks'}.scores`,
    instanceId: instanceIdVar(env),
    lagSampleMs: intVar(env, 'LAG_SAMPLE_MS', 10_000, 100, 3_600_000),
    modelDir: env.MODEL_DIR ? resolve(env.MODEL_DIR) : null,
    providers,
    scorerWorkers: intVar(env, 'SCORER_WORKERS', 1, 1, 64),
    speech: boolVar(env, 'SCORER_SPEECH', true)
      ? {
        modelDir: resolve(env.SPEECH_MODEL_DIR || join(repoRoot(), 'models', 'speech-whisper-tiny-en')),
        maxQueue: intVar(env, 'SCORER_SPEECH_QUEUE', 8, 1, 10_000),
        deadlineMs: intVar(env, 'SCORER_SPEECH_DEADLINE_MS', 2000, 1, 600_000),
      }
      : null,
    demo: boolVar(env, 'DEMO', kafkaBrokers === null),
    demoCalls: intVar(env, 'DEMO_CALLS', 3, 1, 1000),
    demoVideo: boolVar(env, 'DEMO_VIDEO', false),
    devTenant: env.DEV_TENANT || 'demo',
    chunkDefaultTenant: tenantVar(env, 'CHUNK_DEFAULT_TENANT'),
    kafkaMaxMessageBytes: env.KAFKA_MAX_MESSAGE_BYTES ? intVar(env, 'KAFKA_MAX_MESSAGE_BYTES', 1_000_000, 4096, 2_147_483_647) : null,
    logLevel: env.LOG_LEVEL || 'info',
    handover: {
      replayMaxMs: intVar(env, 'HANDOVER_REPLAY_MAX_MS', 900_000, 0, 86_400_000),
      holdMaxRecords: intVar(env, 'HANDOVER_HOLD_MAX_RECORDS', 500_000, 1, 50_000_000),
    },
  };
}
