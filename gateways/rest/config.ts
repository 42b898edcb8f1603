// Settings only the REST edge reads; ports, URLs and the JWT secret come from core/src/config.ts.
import { z } from 'zod';
import { ConfigError } from '../../platform/config.js';

const blankIsUnset = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const positiveInt = (fallback: number) =>
  z.preprocess(blankIsUnset, z.coerce.number().int().positive().default(fallback));

const schema = z.object({
  EDGE_HOST: z.string().default('127.0.0.1'),
  EDGE_RATE_LIMIT_TENANT_RPS: positiveInt(500),
  EDGE_RATE_LIMIT_IP_RPS: positiveInt(500),
  EDGE_BODY_LIMIT_BYTES: positiveInt(64 * 1024),
  EDGE_CORE_TIMEOUT_MS: positiveInt(5_000),
  EDGE_SSE_HEARTBEAT_MS: positiveInt(15_000),
  EDGE_SSE_RESUME_MS: positiveInt(60_000),
  EDGE_SSE_MAX_STREAMS: positiveInt(1_000),
  EDGE_AVAILABILITY_MAX_AGE_S: z.preprocess(blankIsUnset, z.coerce.number().int().min(0).default(2)),
});

export type EdgeSettings = {
  host: string;
  /** Requests per second per tenant (after the token is verified); bursts up to twice that. */
  tenantRps: number;
  /** Requests per second per client address (before the token is verified); bursts up to twice that. */
  ipRps: number;
  bodyLimitBytes: number;
  /** Deadline of every call to the core; past it the edge answers 504. */
  coreTimeoutMs: number;
  sseHeartbeatMs: number;
  /** How long a closed event stream keeps buffering for a Last-Event-ID resume. */
  sseResumeMs: number;
  sseMaxStreams: number;
  /** Cache-Control max-age of availability answers. */
  availabilityMaxAgeS: number;
};

export const loadEdgeSettings = (env: NodeJS.ProcessEnv = process.env): EdgeSettings => {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const e = parsed.data;
  return {
    host: e.EDGE_HOST,
    tenantRps: e.EDGE_RATE_LIMIT_TENANT_RPS,
    ipRps: e.EDGE_RATE_LIMIT_IP_RPS,
    bodyLimitBytes: e.EDGE_BODY_LIMIT_BYTES,
    coreTimeoutMs: e.EDGE_CORE_TIMEOUT_MS,
    sseHeartbeatMs: e.EDGE_SSE_HEARTBEAT_MS,
    sseResumeMs: e.EDGE_SSE_RESUME_MS,
    sseMaxStreams: e.EDGE_SSE_MAX_STREAMS,
    availabilityMaxAgeS: e.EDGE_AVAILABILITY_MAX_AGE_S,
  };
};
