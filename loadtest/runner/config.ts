// Reads a ghz JSON config (the same file `ghz --config` takes) and applies
// command-line overrides. Field names and defaults follow ghz: total 200,
// concurrency 50, connections 1, timeout 20s; a duration makes total ignored.
import { ConfigError } from '../../platform/config.js';
import { compileTemplate } from './template.js';
import type { Template } from './template.js';

export type GhzConfig = {
  name?: string;
  proto?: string;
  protoset?: string;
  'import-paths'?: string[];
  call: string;
  host?: string;
  insecure?: boolean;
  total?: number;
  concurrency?: number;
  connections?: number;
  rps?: number;
  duration?: string;
  timeout?: string;
  data?: unknown;
  metadata?: Record<string, string>;
  tags?: Record<string, string>;
};

export type Overrides = Partial<{
  total: number;
  concurrency: number;
  connections: number;
  rps: number;
  duration: string;
  timeout: string;
  host: string;
}>;

export type RunPlan = {
  name: string;
  /** "package.Service" and "Method". */
  service: string;
  method: string;
  host: string;
  /** null when the run is bounded by duration instead. */
  total: number | null;
  durationMs: number | null;
  concurrency: number;
  connections: number;
  /** null: closed loop, as fast as `concurrency` callers go. */
  rps: number | null;
  timeoutMs: number;
  /** One template per message; unary calls take them round-robin by request number, as ghz does. */
  data: Template[];
  metadata: Template | null;
  tags: Record<string, string>;
};

// The CLI prints a ConfigError's message alone, without a stack.
export { ConfigError };

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration ("10s", "1m30s", "200ms", "1.5s"), in nanoseconds. */
export const parseGoDuration = (text: string): number => {
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    total += Number(m[1]) * (UNIT_NS[m[2] ?? ''] ?? Number.NaN);
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== s.length || !Number.isFinite(total)) {
    throw new ConfigError(`invalid duration "${text}" (use Go syntax, e.g. 500ms, 10s, 1m30s)`);
  }
  return total;
};

const positiveInt = (name: string, v: unknown, allowZero = false): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < (allowZero ? 0 : 1))
    throw new ConfigError(
      `"${name}" must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(v)}`,
    );
  return v;
};

/** "pkg.Service.Method" or "pkg.Service/Method". */
export const splitCall = (call: string): { service: string; method: string } => {
  const m = /^([A-Za-z_][\w.]*)[./]([A-Za-z_]\w*)$/.exec(call.trim());
  if (m === null)
    throw new ConfigError(
      `"call" must be "package.Service.Method" or "package.Service/Method", got ${JSON.stringify(call)}`,
    );
  return { service: m[1] ?? '', method: m[2] ?? '' };
};

const dataTemplates = (data: unknown): Template[] => {
  if (data === undefined) return [compileTemplate('{}')];
  const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObject(data)) return [compileTemplate(JSON.stringify(data))];
  if (Array.isArray(data) && data.length > 0 && data.every(isObject))
    return data.map((d) => compileTemplate(JSON.stringify(d)));
  throw new ConfigError('"data" must be an object or a non-empty array of objects');
};

export const parseConfig = (raw: unknown, overrides: Overrides = {}): RunPlan => {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError('a ghz config is a JSON object');
  const c = raw as GhzConfig;
  if (typeof c.call !== 'string') throw new ConfigError('"call" is required');
  if (
    c.metadata !== undefined &&
    (typeof c.metadata !== 'object' || Object.values(c.metadata).some((v) => typeof v !== 'string'))
  ) {
    throw new ConfigError('"metadata" must map names to strings');
  }
  if (c.insecure === false) throw new ConfigError('this runner speaks plaintext HTTP/2 only: set "insecure": true');
  const duration = overrides.duration ?? c.duration;
  const durationNs = duration === undefined ? 0 : parseGoDuration(duration);
  const total = overrides.total ?? c.total ?? 200;
  const concurrency = positiveInt('concurrency', overrides.concurrency ?? c.concurrency ?? 50);
  const rps = positiveInt('rps', overrides.rps ?? c.rps ?? 0, true);
  const plan: RunPlan = {
    name: c.name ?? c.call,
    ...splitCall(c.call),
    host: overrides.host ?? c.host ?? '127.0.0.1:50051',
    total: durationNs > 0 ? null : positiveInt('total', total),
    durationMs: durationNs > 0 ? durationNs / 1e6 : null,
    concurrency,
    connections: positiveInt('connections', overrides.connections ?? c.connections ?? 1),
    rps: rps === 0 ? null : rps,
    timeoutMs: parseGoDuration(overrides.timeout ?? c.timeout ?? '20s') / 1e6,
    data: dataTemplates(c.data),
    metadata: c.metadata === undefined ? null : compileTemplate(JSON.stringify(c.metadata)),
    tags: { ...(c.tags ?? {}) },
  };
  // ghz refuses both; here an override of -c or -n scales the file's other numbers down instead.
  if (plan.total !== null && plan.total < plan.concurrency) plan.concurrency = plan.total;
  if (plan.connections > plan.concurrency) plan.connections = plan.concurrency;
  return plan;
};

/** The metadata placeholder our configs carry; ghz users replace it (e.g. with envsubst). */
export const TOKEN_PLACEHOLDER = '${STOCKMIND_TOKEN}';

export const substituteToken = (raw: unknown, token: string): unknown => {
  if (raw === null || typeof raw !== 'object') return raw;
  const c = raw as GhzConfig;
  if (c.metadata === undefined) return raw;
  const metadata = Object.fromEntries(
    Object.entries(c.metadata).map(([k, v]) => [k, typeof v === 'string' ? v.replaceAll(TOKEN_PLACEHOLDER, token) : v]),
  );
  return { ...c, metadata };
};

export const needsToken = (raw: unknown): boolean =>
  raw !== null &&
  typeof raw === 'object' &&
  Object.values((raw as GhzConfig).metadata ?? {}).some((v) => typeof v === 'string' && v.includes(TOKEN_PLACEHOLDER));
