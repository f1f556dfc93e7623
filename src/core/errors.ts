/**
 * The one error catalogue. Every error the product reports to a producer (dead-letter record),
 * an API client (GraphQL `extensions.code`) or an operator (logs, metrics) carries one of these
 * stable codes. docs/errors.md documents each; test/core/errors.test.ts checks the two agree.
 *
 * Add a code here and in docs/errors.md together; never rename or reuse a code.
 */

export interface ErrorSpec {
  /** Human message; `{name}` placeholders are filled from the error's details. */
  message: string;
  /** HTTP status when surfaced over HTTP. */
  status: number;
  /** True when retrying the same operation later can succeed (e.g. a broker is down). */
  retriable: boolean;
}

export const ERROR_CATALOGUE = {
  // --- ingest: one chunk is rejected, dead-lettered, counted; nothing else is affected
  CHUNK_MALFORMED_HEADERS: { message: 'chunk headers are malformed: {reason}', status: 400, retriable: false },
  CHUNK_UNKNOWN_MODALITY: { message: 'unknown modality "{modality}"', status: 400, retriable: false },
  CHUNK_UNSUPPORTED_VERSION: { message: 'unsupported contract version {version}', status: 400, retriable: false },
  CHUNK_MISSING_KEY: { message: 'chunk has no call id key', status: 400, retriable: false },
  CHUNK_PAYLOAD_TOO_LARGE: { message: 'payload of {bytes} bytes exceeds the limit of {limit}', status: 413, retriable: false },
  CHUNK_BAD_SAMPLE_RATE: { message: 'sample rate {rate} Hz is not supported (use 8000 or 16000)', status: 400, retriable: false },
  CHUNK_BAD_ENCODING: { message: 'encoding "{encoding}" is not valid for {modality}', status: 400, retriable: false },
  CHUNK_BAD_PAYLOAD: { message: 'payload is invalid: {reason}', status: 400, retriable: false },
  CHUNK_NON_FINITE: { message: 'payload contains NaN or infinite values', status: 400, retriable: false },
  CHUNK_OUT_OF_ORDER: { message: 'seq {seq} arrived after {lastSeq} for {callId}/{channel}/{modality}', status: 409, retriable: false },
  CHUNK_DUPLICATE: { message: 'seq {seq} was already accepted for {callId}/{channel}/{modality}', status: 409, retriable: false },
  CHUNK_TOO_LATE: { message: 'chunk at {eventTimeMs} ms is behind the watermark {watermarkMs} ms by more than the allowed lateness', status: 409, retriable: false },
  CHUNK_UNKNOWN_CALL: { message: 'call {callId} is not open (no call_start, or already ended)', status: 404, retriable: false },
  CHUNK_EMPTY_TEXT: { message: 'transcript piece is empty', status: 400, retriable: false },
  CALL_IDLE_TIMEOUT: { message: 'call {callId} sent nothing for {idleMs} ms and was closed', status: 408, retriable: false },
  INGEST_OVERLOADED: { message: 'ingest queue is full ({depth} chunks)', status: 503, retriable: true },
  WINDOW_BUFFER_FULL: { message: '{what} buffer of {callId}/{channel} is full ({limit}); chunk rejected', status: 503, retriable: false },
  CHUNK_OUT_OF_BOUNDS: { message: '{what} {value} is outside the contract bounds [{min}, {max}] {unit}', status: 400, retriable: false },
  CHUNK_MISSING_TENANT: { message: 'chunk has no x-tenant header and no default tenant is configured', status: 400, retriable: false },
  WINDOW_WORK_BUDGET: { message: '{modality} chunk spans {spanMs} ms: {steps} window steps, over the budget of {budget} per chunk', status: 400, retriable: false },

  // --- scoring
  MODEL_MANIFEST_INVALID: { message: 'model manifest {path} is invalid: {reason}', status: 500, retriable: false },
  MODEL_LOAD_FAILED: { message: 'model {file} failed to load on {provider}: {reason}', status: 500, retriable: false },
  SCORER_OVERLOADED: { message: 'scoring queue is full ({depth} segments)', status: 503, retriable: true },
  SCORER_WORKER_CRASHED: { message: 'scoring worker {worker} exited: {reason}', status: 500, retriable: true },
  SCORER_FAILED: { message: 'scoring failed: {reason}', status: 500, retriable: true },
  SCORER_BAD_SEGMENT: { message: 'segment cannot be scored: {reason}', status: 400, retriable: false },

  // --- storage
  STORE_UNAVAILABLE: { message: 'score store is unavailable: {reason}', status: 503, retriable: true },
  // A write made under an owner epoch the partition has moved past (src/store/fencing.ts): the
  // partition's new owner makes it; retrying the same write can never succeed.
  STORE_FENCED: { message: 'write for partition {partition} refused: epoch {epoch} was superseded by {current}', status: 409, retriable: false },

  // --- API
  BAD_REQUEST: { message: '{reason}', status: 400, retriable: false },
  BAD_CURSOR: { message: 'cursor "{cursor}" is not valid', status: 400, retriable: false },
  UNAUTHENTICATED: { message: 'authentication required: {reason}', status: 401, retriable: false },
  FORBIDDEN: { message: 'not allowed: {reason}', status: 403, retriable: false },
  NOT_FOUND: { message: '{what} not found', status: 404, retriable: false },
  QUERY_TOO_COMPLEX: { message: 'query exceeds the {limit} limit ({value} > {max})', status: 400, retriable: false },
  TOO_MANY_SUBSCRIPTIONS: { message: '{scope} already holds {max} subscriptions', status: 429, retriable: false },
  TOO_MANY_CONNECTIONS: { message: '{scope} already holds {max} sockets', status: 429, retriable: true },
  SUBSCRIBER_TOO_SLOW: { message: 'subscriber fell {behind} events behind and was {policy}', status: 429, retriable: false },
  INTERNAL: { message: 'internal error', status: 500, retriable: true },
  GRAPHQL_PARSE_FAILED: { message: 'query is not valid GraphQL: {reason}', status: 400, retriable: false },
  GRAPHQL_VALIDATION_FAILED: { message: 'query does not match the schema: {reason}', status: 400, retriable: false },
  REQUEST_TOO_LARGE: { message: 'request body of {bytes} bytes exceeds the limit of {limit}', status: 413, retriable: false },

  // --- configuration (checked at start, before anything is opened; ConfigError below lists every bad variable)
  CONFIG_INVALID: { message: 'invalid configuration: {reason}', status: 500, retriable: false },

  // --- speech model (src/score/speech): one segment's audio is refused; the recogniser stays usable
  SPEECH_AUDIO_EMPTY: { message: 'speech audio is empty ({samples} samples)', status: 400, retriable: false },
  SPEECH_AUDIO_TOO_LONG: { message: 'speech audio of {seconds} s exceeds the {maxSeconds} s window', status: 413, retriable: false },
  SPEECH_AUDIO_INVALID: { message: 'speech audio is invalid: {reason}', status: 400, retriable: false },

  // --- WebSocket ingest (src/ingest/ws): one frame or one session is refused; the socket's other frames go on
  INGEST_BAD_FRAME: { message: '{protocol} frame refused: {reason}', status: 400, retriable: false },
  INGEST_SESSION_STATE: { message: '{protocol} {message} refused: {reason}', status: 409, retriable: false },
  INGEST_UNSUPPORTED_MEDIA: { message: '{protocol} media format refused: {reason}', status: 415, retriable: false },
  INGEST_TOPIC_UNAVAILABLE: { message: 'the chunk topic {topic} did not take the record: {reason}', status: 503, retriable: true },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The product's error: a stable code, a rendered message, and the details that filled it. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    const spec: ErrorSpec = ERROR_CATALOGUE[code];
    super(renderMessage(spec.message, details), options);
    this.name = 'AppError';
    this.code = code;
    this.status = spec.status;
    this.retriable = spec.retriable;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** One bad environment variable: its name, the value seen (absent for secrets) and why it is refused. */
export interface ConfigProblem {
  variable: string;
  /** The raw value, or undefined where it is a secret or was not set. */
  value?: string;
  reason: string;
}

/**
 * The one configuration error (CONFIG_INVALID): every bad variable found at start, at once, so an
 * operator fixes them in one go. `details.variable` names them (comma-separated), `details.reason`
 * reads `NAME="value": why; ...`.
 */
export class ConfigError extends AppError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], options?: { cause?: unknown }) {
    const reason = problems.map((p) => `${p.variable}${p.value === undefined ? '' : `=${JSON.stringify(p.value.length > 120 ? `${p.value.slice(0, 117)}...` : p.value)}`}: ${p.reason}`).join('; ');
    super('CONFIG_INVALID', { variable: problems.map((p) => p.variable).join(', '), reason }, options);
    this.name = 'ConfigError';
    this.problems = Object.freeze([...problems]);
  }
}

function renderMessage(template: string, details: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => (key in details ? String(details[key]) : `{${key}}`));
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/** Wraps anything thrown into an AppError, keeping AppErrors as they are. */
export function toAppError(e: unknown, fallback: ErrorCode = 'INTERNAL'): AppError {
  if (e instanceof AppError) return e;
  const reason = e instanceof Error ? e.message : String(e);
  return new AppError(fallback, { reason }, { cause: e });
}
