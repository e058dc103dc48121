import { plainToInstance, Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';
import { parsePrices } from '../usage/llm-prices';

export const NODE_ENVS = ['development', 'production', 'test'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const JWT_ALGORITHMS = ['HS256', 'RS256', 'ES256', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export const APP_ROLES = ['all', 'api', 'worker'] as const;
export type AppRole = (typeof APP_ROLES)[number];

export const LLM_PROVIDERS = ['offline', 'openai', 'anthropic', 'openai-compatible'] as const;
export type LlmProvider = (typeof LLM_PROVIDERS)[number];

export class EnvironmentVariables {
  @IsIn(NODE_ENVS)
  NODE_ENV: NodeEnv = 'development';

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT = 3000;

  // Filled in by prepareRuntime() with the embedded database when the user gives none.
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL: string;

  // How bearer tokens are signed: HS256 with JWT_SECRET, or RS256/ES256/EdDSA with the issuer's
  // public key (JWT_PUBLIC_KEY, PEM) or its key set (JWT_JWKS_URL).
  @IsIn(JWT_ALGORITHMS)
  JWT_ALGORITHM: JwtAlgorithm = 'HS256';

  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'JWT_SECRET must be at least 16 characters' })
  JWT_SECRET?: string;

  @IsOptional()
  @Matches(/-----BEGIN PUBLIC KEY-----/, { message: 'JWT_PUBLIC_KEY must be a PEM public key' })
  JWT_PUBLIC_KEY?: string;

  @IsOptional()
  @Matches(/^https?:\/\//, { message: 'JWT_JWKS_URL must be an http(s) URL' })
  JWT_JWKS_URL?: string;

  // Checked when set: the token's `iss` and `aud`.
  @IsOptional()
  @IsString()
  JWT_ISSUER?: string;

  @IsOptional()
  @IsString()
  JWT_AUDIENCE?: string;

  // A token must expire (`exp`), and live no longer than this from when it was issued.
  @Type(() => Number)
  @IsInt()
  @Min(60)
  JWT_MAX_LIFETIME_SECONDS = 86_400;

  // Browser origins (exact, comma-separated, e.g. https://chat.example.com) allowed to open the
  // WebSocket and to call the REST API (CORS). The app's own origin and clients that send no Origin
  // (servers, CLIs) are always allowed.
  @IsOptional()
  @IsString()
  ALLOWED_ORIGINS?: string;

  // How long a stream ticket (POST /api/stream-tickets) may wait for its one use.
  @Type(() => Number)
  @IsInt()
  @Min(5)
  @Max(600)
  STREAM_TICKET_TTL_SECONDS = 60;

  // Webhooks (a run's `webhook`): 'true' lets them reach private, loopback and link-local
  // addresses (refused otherwise, so a webhook cannot reach the services beside the app).
  @IsIn(['true', 'false'])
  WEBHOOK_ALLOW_PRIVATE = 'false';

  // The server's key the per-user signing secrets are derived from (default: from JWT_SECRET).
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'WEBHOOK_SECRET must be at least 16 characters' })
  WEBHOOK_SECRET?: string;

  // One attempt's limit; then the queue tries again, WEBHOOK_RETRIES times, the first after
  // WEBHOOK_RETRY_DELAY_SECONDS and each later one twice as long after (up to 10 minutes).
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(60_000)
  WEBHOOK_TIMEOUT_MS = 10_000;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(20)
  WEBHOOK_RETRIES = 5;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3_600)
  WEBHOOK_RETRY_DELAY_SECONDS = 5;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  // pretty: one readable line per entry (pino-pretty); json: one JSON object per line. Default:
  // pretty in development, json otherwise.
  @IsOptional()
  @IsIn(LOG_FORMATS)
  LOG_FORMAT?: LogFormat;

  // How often an idle SSE stream gets a keep-alive comment line.
  @Type(() => Number)
  @IsInt()
  @Min(10)
  SSE_HEARTBEAT_MS = 15_000;

  // Only used without DATABASE_URL: where the embedded PostgreSQL listens and keeps its data (and
  // where the development JWT secret is kept).
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65535)
  EMBEDDED_PG_PORT = 54329;

  @IsString()
  @MinLength(1)
  DATA_DIR = '.data';

  // How often the server pings each WebSocket; a socket that missed the previous ping is dropped.
  @Type(() => Number)
  @IsInt()
  @Min(10)
  WS_HEARTBEAT_MS = 30_000;

  // What this instance does: `api` serves REST and WebSocket, `worker` executes runs from the
  // queue, `all` both. Any number of each may share one database.
  @IsIn(APP_ROLES)
  APP_ROLE: AppRole = 'all';

  // Runs this instance executes at once (APP_ROLE all or worker).
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  WORKER_CONCURRENCY = 10;

  // On SIGTERM: how long the runs in hand may take to finish before the rest are handed back to
  // the queue (another instance continues them from their checkpoints).
  @Type(() => Number)
  @IsInt()
  @Min(0)
  SHUTDOWN_GRACE_MS = 30_000;

  // A worker that stops sending heartbeats for this long (killed, or its machine lost) loses its
  // runs to another instance; pg-boss needs at least 10.
  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(3600)
  RUN_HEARTBEAT_SECONDS = 30;

  // How often the queue looks for runs whose worker went silent (and other upkeep).
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3600)
  QUEUE_MONITOR_SECONDS = 10;

  // A busy instance starts a group commit of its runs' events at most this often (an idle one
  // commits at once): its commits, and PostgreSQL's notifying commits, stay flat however many runs
  // it streams. 0 commits whenever the previous commit is done.
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1000)
  RUN_EVENT_COMMIT_INTERVAL_MS = 20;

  // Connections the app keeps to PostgreSQL (the queue and the event listener have their own few).
  // Each run in progress holds one briefly per write; keep it above WORKER_CONCURRENCY.
  @Type(() => Number)
  @IsInt()
  @Min(2)
  @Max(500)
  DB_POOL_SIZE = 20;

  // How long an Idempotency-Key is remembered.
  @Type(() => Number)
  @IsInt()
  @Min(60)
  IDEMPOTENCY_TTL_SECONDS = 86_400;

  // Abuse bounds. Per user: run starts a minute (all instances together), unfinished runs at once
  // (all instances), requests a minute and WebSocket frames a minute (each instance), open sockets
  // and SSE streams (each instance).
  @Type(() => Number)
  @IsInt()
  @Min(1)
  RATE_LIMIT_RUN_STARTS = 30;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  MAX_ACTIVE_RUNS = 10;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  RATE_LIMIT_REQUESTS = 600;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  RATE_LIMIT_FRAMES = 120;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  MAX_SOCKETS_PER_USER = 5;

  // Users whose subtree of request-scoped services an instance keeps (least recently used let go).
  @Type(() => Number)
  @IsInt()
  @Min(1)
  USER_CONTEXTS_MAX = 10_000;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  MAX_STREAMS_PER_USER = 10;

  // The largest WebSocket frame a client may send (a larger one closes the socket with 1009), and
  // how much a socket may leave unread before it is closed (1013): a client that stops reading
  // cannot make the server hold its output.
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  @Max(1024 * 1024)
  WS_MAX_FRAME_BYTES = 64 * 1024;

  @Type(() => Number)
  @IsInt()
  @Min(64 * 1024)
  WS_MAX_BUFFERED_BYTES = 1024 * 1024;

  // Swagger UI at /docs and the spec at /docs-json (set false to serve neither).
  @IsIn(['true', 'false'])
  DOCS_ENABLED: 'true' | 'false' = 'true';

  // The language model. `offline` is the built-in deterministic model for development and tests.
  @IsIn(LLM_PROVIDERS)
  LLM_PROVIDER: LlmProvider = 'offline';

  @IsOptional()
  @IsString()
  LLM_MODEL?: string;

  @IsOptional()
  @Matches(/^https?:\/\//, { message: 'LLM_BASE_URL must be an http(s) URL' })
  LLM_BASE_URL?: string;

  @IsOptional()
  @IsString()
  LLM_API_KEY?: string;

  // Other models of the same provider a request may ask for (`model`), comma-separated.
  @IsOptional()
  @IsString()
  LLM_MODELS?: string;

  // One model call, from request to the last streamed chunk.
  @Type(() => Number)
  @IsInt()
  @Min(100)
  LLM_TIMEOUT_MS = 120_000;

  // Anthropic's extended thinking: the tokens a model may spend reasoning before it answers. Unset,
  // no thinking is asked for. (OpenAI-compatible servers that stream reasoning need nothing.)
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  LLM_REASONING_BUDGET?: number;

  // Retries, with exponential backoff, of rate limits (429) and provider errors (5xx).
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10)
  LLM_MAX_RETRIES = 2;

  // /metrics: on a port of its own (then not on the app's), or on the app's port for whoever
  // sends METRICS_TOKEN as a bearer token. Without either it is served outside production only.
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65535)
  METRICS_PORT?: number;

  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters' })
  METRICS_TOKEN?: string;

  // What tokens cost, per model, in USD per million tokens (JSON; see src/usage/llm-prices.ts).
  @IsOptional()
  @IsString()
  LLM_PRICES?: string;
}

// Which key verifies tokens, said in words a person can act on.
function jwtProblems(env: EnvironmentVariables): string[] {
  if (env.JWT_ALGORITHM === 'HS256') {
    return env.JWT_SECRET ? [] : ['JWT_SECRET is required when JWT_ALGORITHM is HS256'];
  }
  if (!env.JWT_PUBLIC_KEY === !env.JWT_JWKS_URL) {
    return [
      `one of JWT_PUBLIC_KEY or JWT_JWKS_URL is required when JWT_ALGORITHM is ${env.JWT_ALGORITHM}`,
    ];
  }
  return [];
}

// What each provider needs, said in words a person can act on.
function llmProblems(env: EnvironmentVariables): string[] {
  const problems: string[] = [];
  if (env.LLM_PROVIDER === 'offline') return problems;
  if (!env.LLM_MODEL)
    problems.push(`LLM_MODEL is required when LLM_PROVIDER is ${env.LLM_PROVIDER}`);
  if ((env.LLM_PROVIDER === 'openai' || env.LLM_PROVIDER === 'anthropic') && !env.LLM_API_KEY) {
    problems.push(`LLM_API_KEY is required when LLM_PROVIDER is ${env.LLM_PROVIDER}`);
  }
  if (env.LLM_PROVIDER === 'openai-compatible' && !env.LLM_BASE_URL) {
    problems.push('LLM_BASE_URL is required when LLM_PROVIDER is openai-compatible');
  }
  return problems;
}

function priceProblems(env: EnvironmentVariables): string[] {
  try {
    parsePrices(env.LLM_PRICES);
    return [];
  } catch (err) {
    return [
      err instanceof SyntaxError
        ? `LLM_PRICES is not JSON: ${err.message}`
        : String((err as Error).message),
    ];
  }
}

export function validateEnv(raw: Record<string, unknown>): EnvironmentVariables {
  const env = plainToInstance(EnvironmentVariables, raw, { exposeDefaultValues: true });
  const errors = validateSync(env, { skipMissingProperties: false });
  const lines = errors.flatMap((e) => Object.values(e.constraints ?? {}));
  if (errors.length === 0)
    lines.push(...jwtProblems(env), ...llmProblems(env), ...priceProblems(env));
  if (lines.length > 0) throw new Error(`Invalid configuration:\n  - ${lines.join('\n  - ')}`);
  if (env.NODE_ENV === 'production' && env.JWT_SECRET !== undefined && env.JWT_SECRET.length < 32) {
    throw new Error(
      'Invalid configuration:\n  - JWT_SECRET must be at least 32 characters in production',
    );
  }
  return env;
}
