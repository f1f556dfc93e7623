/**
 * The one config schema: every environment variable the server and the CLI read, with its type,
 * bounds, default, group and a one-line description. loadConfig (../config.ts) parses it once at
 * start into the typed, frozen AppConfig; `npm run docs:config` writes README.md's table from it;
 * test/config/ checks that the README is current and that src/ reads no variable missing here.
 *
 * It lives in app/ (the wiring stage), not core/: its values are parsed by the stages' own
 * parsers (auth's API keys and RS256 keys, the HTTP edge's origins, the scorer's providers) and
 * become their option types, which only app/ may import. Stages receive plain typed options and
 * never see the environment.
 */
import { AUTH_MODES, parseApiKeys, parseHs256Secret, parseJwksUrl, parseRs256Keys, TENANT_RE } from '../../auth/config.js';
import { parseAllowedOrigins } from '../../http/origin.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../http/connection-limits.js';
import { DEFAULT_QUERY_LIMITS } from '../../graphql/limits.js';
import { parseProviders } from '../../score/providers.js';
import { LATENCY_PRESETS, type LatencyPreset } from '../../window/options.js';
import { custom, int, list, oneOf, onOff, refuse, text, url } from './vars.js';

/** Kafka's rule for topic names. */
const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;
/** `host:port` (IPv6 in brackets), port 1..65535. */
function broker(item: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(item);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw refuse(`${JSON.stringify(item)} is not host:port`);
  return item;
}
/** The scorer's list parser (trimmed, lower-cased, deduplicated), each item checked; blank = unset. */
function providers(raw: string): string[] | undefined {
  if (raw.trim() === '') return undefined;
  const list = parseProviders(raw);
  for (const p of list) if (!['cuda', 'webgpu', 'cpu'].includes(p)) throw refuse(`${JSON.stringify(p)} is not one of cuda, webgpu, cpu`);
  return list;
}

/** SCORER_WORKERS: `auto` (chosen at start from the cores, src/score/worker-count.ts) or a count. */
function scorerWorkers(raw: string): number | 'auto' {
  const v = raw.trim().toLowerCase();
  if (v === 'auto') return 'auto';
  const n = v === '' ? NaN : Number(v);
  if (!Number.isSafeInteger(n) || n < 1 || n > 64) throw refuse('not `auto` or an integer in 1..64');
  return n;
}

export const CONFIG_VARS = {
  // --- server
  PORT: int({ group: 'server', description: 'HTTP + WebSocket port (0 picks a free one)' }, 0, 65535, 4000),
  HOST: text({ group: 'server', description: 'interface the listener binds', default: '`127.0.0.1`' }, 'a host name or address', null),
  LOG_LEVEL: oneOf({ group: 'server', description: 'pino log level' }, ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  INSTANCE_ID: text({ group: 'server', description: "this process's id in a cluster: names its scores consumer group and marks the records it produces; unique per process", default: '`<hostname>-<pid>-<random>`' }, '1-100 of a-z A-Z 0-9 . _ -', /^[a-zA-Z0-9._-]{1,100}$/),

  // --- storage
  DATA_DIR: text({ group: 'storage', description: 'folder of the embedded SQLite file', default: '`./data`' }, 'a path', null),
  DB_PATH: text({ group: 'storage', description: 'embedded SQLite file, or `:memory:`', default: '`<DATA_DIR>/scores.db`' }, 'a path', null),
  PG_URL: url({ group: 'storage', description: 'PostgreSQL for scores, calls and alerts (several instances share it); unset: the embedded SQLite file', default: 'unset (SQLite)', secret: true }, ['postgres:', 'postgresql:']),

  // --- kafka
  KAFKA_BROKERS: list({ group: 'kafka', description: 'Kafka brokers; set: Kafka is the chunk source', default: 'unset (in-process ingest)' }, 'host:port', broker),
  KAFKA_TOPIC: text({ group: 'kafka', description: 'topic of media chunks (dead letters: `<topic>.dlq`)', default: '`call-chunks`' }, 'a Kafka topic name', TOPIC),
  KAFKA_GROUP: text({ group: 'kafka', description: 'consumer group of the chunk topic', default: '`sentiment-stream`' }, 'a consumer group id', /^.{1,255}$/s),
  KAFKA_SESSION_TIMEOUT_MS: int({ group: 'kafka', description: "group session timeout: how long a dead instance's partitions wait before the group gives them to the others" }, 6_000, 300_000, 30_000),
  KAFKA_MAX_MESSAGE_BYTES: int({ group: 'kafka', description: 'largest dead-letter record the broker takes; a bigger copy is written as a reference (no payload)', default: "learned from `<topic>.dlq`'s `max.message.bytes`" }, 4096, 2_147_483_647, null),
  SCORES_TOPIC: text({ group: 'kafka', description: 'scores/alerts fan-out between instances; `off`: none (subscribers see only this instance\'s calls)', default: '`<KAFKA_TOPIC>.scores`' }, 'a Kafka topic name or `off`', TOPIC),
  LAG_SAMPLE_MS: int({ group: 'kafka', description: 'consumer lag sampling period, ms' }, 100, 3_600_000, 10_000),
  HANDOVER_REPLAY_MAX_MS: int({ group: 'kafka', description: "exact hand-over: a call open longer than this (event time) gives up its partition's commit hold and is handed over approximately; `0`: no holds ([docs/operations.md](docs/operations.md))" }, 0, 86_400_000, 900_000),
  HANDOVER_HOLD_MAX_RECORDS: int({ group: 'kafka', description: 'exact hand-over: so does a call that would keep more records of its partition uncommitted' }, 1, 50_000_000, 500_000),

  // --- auth (docs/security.md)
  AUTH_MODE: oneOf({ group: 'auth', description: 'how API callers are identified: see [docs/security.md](docs/security.md); `dev` is logged loudly' }, AUTH_MODES, 'dev', true),
  DEV_TENANT: text({ group: 'auth', description: 'tenant of every caller in dev mode, and of a chunk without `x-tenant` in dev mode', default: '`demo`' }, '1..256 characters without spaces, : or ,', TENANT_RE),
  JWT_HS256_SECRET: custom({ group: 'auth', description: 'jwt modes: shared HS256 secret', default: 'unset', secret: true }, 'at least 32 bytes', parseHs256Secret),
  JWT_RS256_PUBLIC_KEY: custom({ group: 'auth', description: 'jwt modes: RS256 public key(s)', default: 'unset' }, 'PEM text (SPKI or certificate), or a path to a PEM or JWKS file', parseRs256Keys),
  JWT_JWKS_URL: custom({ group: 'auth', description: 'jwt modes: JWKS fetched and cached (keys rotate by `kid`)', default: 'unset' }, 'URL (https; http on loopback only)', parseJwksUrl),
  JWT_ISSUER: list({ group: 'auth', description: 'jwt modes: required `iss` (any of them)', default: 'unset (not checked)' }, 'strings', (s) => s),
  JWT_AUDIENCE: list({ group: 'auth', description: 'jwt modes: required `aud` (any of them)', default: 'unset (not checked)' }, 'strings', (s) => s),
  JWT_TENANT_CLAIM: text({ group: 'auth', description: 'jwt modes: claim holding the tenant', default: '`tenant`' }, 'at most 256 characters', /^.{1,256}$/s),
  JWT_CLOCK_TOLERANCE_S: int({ group: 'auth', description: 'jwt modes: leeway for `exp` / `nbf`, seconds' }, 0, 300, 5),
  API_KEYS: custom({ group: 'auth', description: "apikey modes: `tenant:sha256hex,...` (the key's sha256, never the key)", default: 'unset', secret: true }, 'comma-separated tenant:sha256hex', parseApiKeys),
  CHUNK_DEFAULT_TENANT: text({ group: 'auth', description: 'with authentication on: tenant of a chunk without `x-tenant` (unset: `CHUNK_MISSING_TENANT`); see [schema/chunk-contract.md](schema/chunk-contract.md)', default: 'unset' }, '1..64 characters without spaces, : or ,', /^[^\s:,]{1,64}$/),

  // --- api (the HTTP edge and GraphQL limits)
  API_ALLOWED_ORIGINS: custom({ group: 'api', description: 'browser origins allowed to open a socket or call `/graphql`; requests without `Origin` are not affected', default: 'unset: dev mode admits loopback pages only, other modes the server\'s own origin' }, 'comma-separated scheme://host[:port], or `*`', parseAllowedOrigins),
  INGEST_AUDIO_RECORD_MS: int({ group: 'api', description: "audio per record that `/ingest/twilio` and `/ingest/audiohook` join their frames into before the pipeline (Twilio's are 20 ms; each record costs the same fixed work, so 20 ms records cost 1.7x the CPU per call-second): longer is cheaper and holds audio back by up to this much; `0` passes each frame on alone ([docs/ingest.md](docs/ingest.md#audio-records))", default: '`200`; `100` under `end-of-speech`' }, 0, 2_000, null),
  API_MAX_SOCKETS_PER_SOURCE: int({ group: 'api', description: 'open WebSockets per source address (upgrade answered 429)' }, 1, 10_000_000, DEFAULT_CONNECTION_LIMITS.maxSocketsPerSource),
  API_MAX_SOCKETS_PER_TENANT: int({ group: 'api', description: 'open WebSockets per tenant (closed with 1013)' }, 1, 10_000_000, DEFAULT_CONNECTION_LIMITS.maxSocketsPerTenant),
  API_MAX_SUBSCRIPTIONS_PER_TENANT: int({ group: 'api', description: 'operations per tenant over all its sockets (`TOO_MANY_SUBSCRIPTIONS`)' }, 1, 10_000_000, DEFAULT_CONNECTION_LIMITS.maxSubscriptionsPerTenant),
  API_MAX_SUBSCRIPTIONS_PER_CONNECTION: int({ group: 'api', description: 'operations per socket (`TOO_MANY_SUBSCRIPTIONS`)' }, 1, 100_000, DEFAULT_QUERY_LIMITS.maxOperationsPerConnection),
  API_MAX_DEPTH: int({ group: 'api', description: 'deepest field nesting of a query (`QUERY_TOO_COMPLEX`): [docs/security.md](docs/security.md)' }, 1, 100, DEFAULT_QUERY_LIMITS.maxDepth),
  API_MAX_COST: int({ group: 'api', description: 'largest query cost (`QUERY_TOO_COMPLEX`)' }, 1, 1e12, DEFAULT_QUERY_LIMITS.maxCost),
  API_MAX_TOKENS: int({ group: 'api', description: 'lexical tokens a document may have (`QUERY_TOO_COMPLEX`)' }, 1, 1_000_000, DEFAULT_QUERY_LIMITS.maxTokens),
  API_INTROSPECTION: onOff({ group: 'api', description: 'answer `__schema` / `__type` (priced in the cost limit either way)', default: '`on` in dev mode, else `off`' }, undefined),

  // --- scorer
  MODEL_DIR: text({ group: 'scorer', description: 'model version to serve', default: 'folder named in `models/CURRENT`' }, 'a path', null),
  SCORER_PROVIDERS: custom({ group: 'scorer', description: 'execution providers in order; each that fails to load falls back to the next', default: '`cuda,webgpu,cpu` with a GPU device node, else `cpu`' }, 'comma-separated cuda, webgpu, cpu', providers),
  SCORER_WORKERS: custom({ group: 'scorer', description: 'scoring worker threads; `auto`: the usable cores (cgroup CPU quota included) less one for the main thread, at least 1, at most 8 (each worker holds its own model and Whisper sessions: [docs/operations.md](docs/operations.md#scoring-workers))', default: '`auto`' }, '`auto` or integer 1..64', scorerWorkers),
  SCORER_INTRA_OP_THREADS: int({ group: 'scorer', description: 'onnxruntime intra-op threads per worker' }, 1, 64, 1),
  SCORER_TEXT_BATCH: int({ group: 'scorer', description: 'most transcripts per text-encoder run' }, 1, 256, 1),
  SCORER_SPEECH: onOff({ group: 'scorer', description: 'speech path: a segment with audio whose transcript has not arrived is scored on words recognised from its audio (Whisper tiny.en in each worker); `off`: on text simulated from audio ([docs/api.md](docs/api.md#where-the-text-came-from))' }, true),
  SCORER_SPEECH_QUEUE: int({ group: 'scorer', description: 'most segments queued for or in recognition at once; beyond it a segment is scored on simulated text (`speech_route_total{outcome}`)' }, 1, 10_000, 8),
  SCORER_SPEECH_DEADLINE_MS: int({ group: 'scorer', description: 'most ms from a segment reaching the scorer to its words; beyond it the segment is scored on simulated text' }, 1, 600_000, 2000),
  LATENCY_PRESET: oneOf({ group: 'scorer', description: 'when a segment is first scored ([docs/lifecycle.md](docs/lifecycle.md#latency-or-revisions)): `balanced` waits 1 s lateness + 1 s for its transcript; `end-of-speech` scores it once the speech ends (no transcript wait, 250 ms lateness, speech path off: text-missing segments are scored on simulated text at once and revised when the transcript lands)' }, Object.keys(LATENCY_PRESETS) as LatencyPreset[], 'balanced'),
  WINDOW_OPEN_AUDIO_MB: int({ group: 'scorer', description: "audio a partition's window may hold open (float32 at 16 kHz, 4 bytes a sample; sealed history for late transcripts gets twice this): past it the largest call is sealed early, before its transcripts, so it bounds how many calls talk at once before first scores lose their transcripts (`96` sealed 69 % of first scores early at 300 calls, `384` none: [docs/lifecycle.md](docs/lifecycle.md#flow-control))" }, 8, 16_000, 96),
  VAD_HANGOVER_MS: int({ group: 'scorer', description: "silence that ends a speech interval (the window's VAD): shorter cuts a speaker's turn at its pauses before the transcript arrives, longer delays `end-of-speech` scores ([docs/lifecycle.md](docs/lifecycle.md#latency-or-revisions))", default: '`800`; `400` under `end-of-speech`' }, 0, 10_000, null),
  SPEECH_MIN_CONTEXT_MS: int({ group: 'scorer', description: "shortest audio the recogniser's encoder reads for a segment (a shorter segment is followed by silence up to it): Whisper loops on short contexts, and the encoder's cost grows with it. On 577 held-out noisy phone rows: 10,000 word error 0.720 at 29.6 core-ms per audio-s, 8,000 0.727 at 24.9, 6,000 0.749 at 22.2 ([docs/benchmarks.md](docs/benchmarks.md#speech-context))", default: "the speech model's (`10000`)" }, 0, 30_000, null),
  SPEECH_MODEL_DIR: text({ group: 'scorer', description: 'speech recogniser folder', default: '`models/speech-whisper-tiny-en`' }, 'a path', null),

  // --- demo
  DEMO: onOff({ group: 'demo', description: 'stream synthetic demo calls from fixtures/calls', default: 'on without Kafka, else off' }, undefined),
  DEMO_CALLS: int({ group: 'demo', description: 'concurrent demo calls' }, 1, 1000, 3),
  DEMO_VIDEO: onOff({ group: 'demo', description: 'demo calls also stream face features (off: audio-only phone calls)' }, false),
} as const;

export type ConfigVarName = keyof typeof CONFIG_VARS;
