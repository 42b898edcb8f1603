// Process configuration from the environment, validated once at start.
import { z } from 'zod';

const DEV_ENVS = new Set(['development', 'test']);

export const NAMESPACE = /^[a-z][a-z0-9_-]{0,31}$/;

/** Used only when NODE_ENV is development or test; anything else must set STOCKMIND_JWT_SECRET. */
export const DEVELOPMENT_JWT_SECRET = 'stockmind-development-secret-do-not-use-in-production';

// An empty variable (`CORE_PORT=` in an .env file) means unset: coerced, '' would silently be 0 (a random port).
const blankIsUnset = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const port = (fallback: number) =>
  z.preprocess(blankIsUnset, z.coerce.number().int().min(0).max(65535).default(fallback));
const positiveInt = (fallback: number) =>
  z.preprocess(blankIsUnset, z.coerce.number().int().positive().default(fallback));

const schema = z.object({
  NODE_ENV: z.string().default('development'),
  DATABASE_URL: z
    .string()
    .default('postgres://postgres@127.0.0.1:5432/stockmind')
    .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// URL'),
  CORE_PORT: port(50051),
  // Unset: no second port. The grpc-js server is the cheaper one for internal gRPC clients.
  CORE_GRPC_PORT: z.preprocess(blankIsUnset, z.coerce.number().int().min(0).max(65535).optional()),
  EDGE_PORT: port(8080),
  WEBHOOK_PORT: port(8081),
  STOCKMIND_METRICS_PORT: port(9464),
  STOCKMIND_DRAIN_MS: positiveInt(20_000),
  CORE_URL: z
    .string()
    .default('http://127.0.0.1:50051')
    .refine((v) => /^https?:\/\/[^/]+\/?$/.test(v), 'must be an http(s)://host:port URL'),
  ANALYTICS_DATABASE_URL: z
    .string()
    .optional()
    .refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// URL'),
  NATS_URL: z
    .string()
    .default('nats://127.0.0.1:4222')
    .refine((v) => /^(nats|tls):\/\//.test(v), 'must be a nats:// URL'),
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .refine((v) => /^rediss?:\/\//.test(v), 'must be a redis:// URL'),
  STOCKMIND_NAMESPACE: z
    .string()
    .default('stockmind')
    .refine(
      (v) => NAMESPACE.test(v),
      'must match ^[a-z][a-z0-9_-]{0,31}$ (it prefixes NATS subjects, streams and Redis keys)',
    ),
  CORE_HOST: z.string().default('127.0.0.1'),
  STOCKMIND_JWT_SECRET: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.string().min(32, 'must be at least 32 characters').optional(),
  ),
  STOCKMIND_PG_POOL_MAX: positiveInt(10),
  STOCKMIND_EXPIRY_INTERVAL_MS: positiveInt(1000),
  STOCKMIND_NOTIFY_ON_COMMIT: z.enum(['true', 'false', '1', '0']).default('true'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = {
  nodeEnv: string;
  databaseUrl: string;
  /** Default: the main database's name with an `_analytics` suffix, on the same server. */
  analyticsDatabaseUrl: string;
  natsUrl: string;
  redisUrl: string;
  namespace: string;
  corePort: number;
  /** The same handlers over @grpc/grpc-js (gRPC only), when set. */
  coreGrpcPort: number | null;
  /** The REST edge's port. */
  edgePort: number;
  /** The marketplace webhook gateway's port. */
  webhookPort: number;
  /** /metrics, /healthz and /readyz of the core, relay and projectors (one listener under `start`). */
  metricsPort: number;
  /** How long a SIGTERM may take: stop accepting, finish in-flight work, close; then the process exits anyway. */
  drainMs: number;
  /** Where a gateway run alone reaches the core. */
  coreUrl: string;
  coreHost: string;
  jwtSecret: string;
  /** True when the development secret is in use (outside production only). */
  jwtSecretIsDevelopmentDefault: boolean;
  pgPoolMax: number;
  expiryIntervalMs: number;
  /** NOTIFY the relay at every commit (lower lag) instead of letting it poll. */
  notifyOnCommit: boolean;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads and validates the environment. Processes that never sign or verify
 * tokens (relay, projectors, migrations) pass `needsJwtSecret: false`.
 */
export const loadConfig = (env: NodeJS.ProcessEnv = process.env, o: { needsJwtSecret?: boolean } = {}): Config => {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const development = DEV_ENVS.has(e.NODE_ENV);
  if (e.STOCKMIND_JWT_SECRET === undefined && !development && o.needsJwtSecret !== false) {
    throw new ConfigError(
      `STOCKMIND_JWT_SECRET: required when NODE_ENV is "${e.NODE_ENV}" (the development secret is only used when NODE_ENV is development or test)`,
    );
  }
  return {
    nodeEnv: e.NODE_ENV,
    databaseUrl: e.DATABASE_URL,
    analyticsDatabaseUrl: e.ANALYTICS_DATABASE_URL ?? analyticsUrlFor(e.DATABASE_URL),
    natsUrl: e.NATS_URL,
    redisUrl: e.REDIS_URL,
    namespace: e.STOCKMIND_NAMESPACE,
    corePort: e.CORE_PORT,
    coreGrpcPort: e.CORE_GRPC_PORT ?? null,
    edgePort: e.EDGE_PORT,
    webhookPort: e.WEBHOOK_PORT,
    metricsPort: e.STOCKMIND_METRICS_PORT,
    drainMs: e.STOCKMIND_DRAIN_MS,
    coreUrl: e.CORE_URL.replace(/\/$/, ''),
    coreHost: e.CORE_HOST,
    jwtSecret: e.STOCKMIND_JWT_SECRET ?? DEVELOPMENT_JWT_SECRET,
    jwtSecretIsDevelopmentDefault: e.STOCKMIND_JWT_SECRET === undefined,
    pgPoolMax: e.STOCKMIND_PG_POOL_MAX,
    expiryIntervalMs: e.STOCKMIND_EXPIRY_INTERVAL_MS,
    notifyOnCommit: e.STOCKMIND_NOTIFY_ON_COMMIT === 'true' || e.STOCKMIND_NOTIFY_ON_COMMIT === '1',
    logLevel: e.LOG_LEVEL,
  };
};

/** The default analytics database: the main one's name with an `_analytics` suffix, on the same server. */
export const analyticsUrlFor = (databaseUrl: string): string => {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'stockmind';
  url.pathname = `/${encodeURIComponent(`${name}_analytics`)}`;
  return url.toString();
};
