// Settings of partner webhook delivery, from the environment (validated at start).
import { z } from 'zod';
import { ConfigError } from '../../platform/config.js';

export type WebhooksOutSettings = {
  /** Wait before each retry; after the last one fails the delivery is dead-lettered. */
  retryScheduleMs: number[];
  /** Loopback, private and link-local targets are refused unless this is set (tests, local development). */
  allowPrivateTargets: boolean;
  /** One attempt's deadline (connect, send, first response bytes). */
  timeoutMs: number;
  /** How often due deliveries are looked for when nothing wakes the dispatcher. */
  pollMs: number;
};

export const DEFAULT_RETRY_SCHEDULE = '30s,2m,5m,15m,30m';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** "30s,2m,5m" → [30000, 120000, 300000]; units ms, s, m, h. */
export const parseSchedule = (text: string): number[] => {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length === 0 || parts.length > 20) throw new Error('list 1 to 20 delays, e.g. 30s,2m,5m,15m,30m');
  return parts.map((p) => {
    const m = /^(\d+)(ms|s|m|h)$/.exec(p);
    if (m === null) throw new Error(`"${p}" is not a delay; use a number and a unit: 500ms, 30s, 2m, 1h`);
    const ms = Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1_000);
    if (ms > 24 * 3_600_000) throw new Error(`"${p}" is longer than 24 h`);
    return ms;
  });
};

const flag = z.enum(['true', 'false', '1', '0']).default('false');
const positive = (fallback: number) =>
  z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().positive().default(fallback));

const schema = z.object({
  STOCKMIND_WEBHOOK_RETRY_SCHEDULE: z.string().default(DEFAULT_RETRY_SCHEDULE),
  STOCKMIND_WEBHOOK_ALLOW_PRIVATE_TARGETS: flag,
  STOCKMIND_WEBHOOK_TIMEOUT_MS: positive(10_000),
  STOCKMIND_WEBHOOK_POLL_MS: positive(500),
});

export const loadWebhooksOutSettings = (env: NodeJS.ProcessEnv = process.env): WebhooksOutSettings => {
  const parsed = schema.safeParse(env);
  if (!parsed.success)
    throw new ConfigError(
      `invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const e = parsed.data;
  let retryScheduleMs: number[];
  try {
    retryScheduleMs = parseSchedule(e.STOCKMIND_WEBHOOK_RETRY_SCHEDULE);
  } catch (err) {
    throw new ConfigError(`invalid configuration: STOCKMIND_WEBHOOK_RETRY_SCHEDULE: ${(err as Error).message}`);
  }
  return {
    retryScheduleMs,
    allowPrivateTargets:
      e.STOCKMIND_WEBHOOK_ALLOW_PRIVATE_TARGETS === 'true' || e.STOCKMIND_WEBHOOK_ALLOW_PRIVATE_TARGETS === '1',
    timeoutMs: e.STOCKMIND_WEBHOOK_TIMEOUT_MS,
    pollMs: e.STOCKMIND_WEBHOOK_POLL_MS,
  };
};
