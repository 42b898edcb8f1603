// Results in ghz's shapes: durations as integer nanoseconds, latency
// percentiles from an HDR histogram over successful calls only, status codes by
// their gRPC name, errors by ghz's "rpc error: code = … desc = …" text.
import hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

export const STATUS_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
] as const;

export const statusName = (code: unknown): string =>
  typeof code === 'number' ? (STATUS_NAMES[code] ?? `Code(${code})`) : 'Unknown';

export const PERCENTILES = [10, 25, 50, 75, 90, 95, 99] as const;

export type Recorder = {
  ok(latencyNs: number): void;
  failed(code: unknown, message: string): void;
  readonly count: number;
  readonly okCount: number;
  percentile(p: number): number;
  snapshot(totalNs: number): GhzResult;
};

export type GhzResult = {
  name: string;
  date: string;
  endReason: string;
  options: Record<string, unknown>;
  count: number;
  total: number;
  average: number;
  fastest: number;
  slowest: number;
  rps: number;
  errorDistribution: Record<string, number>;
  statusCodeDistribution: Record<string, number>;
  latencyDistribution: { percentage: number; latency: number }[] | null;
};

export const createRecorder = (meta: { name: string; options: Record<string, unknown>; date?: Date }): Recorder => {
  const histogram: Histogram = hdr.build({
    bitBucketSize: 64,
    autoResize: true,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let sum = 0;
  let fastest = Number.POSITIVE_INFINITY;
  let slowest = 0;
  let ok = 0;
  let count = 0;
  const date = meta.date ?? new Date();
  return {
    ok(latencyNs) {
      const v = Math.max(1, Math.round(latencyNs));
      histogram.recordValue(v);
      sum += v;
      if (v < fastest) fastest = v;
      if (v > slowest) slowest = v;
      ok++;
      count++;
      statuses.OK = (statuses.OK ?? 0) + 1;
    },
    failed(code, message) {
      count++;
      const name = statusName(code);
      statuses[name] = (statuses[name] ?? 0) + 1;
      const text = `rpc error: code = ${name} desc = ${message}`;
      errors[text] = (errors[text] ?? 0) + 1;
    },
    get count() {
      return count;
    },
    get okCount() {
      return ok;
    },
    percentile: (p) => (ok === 0 ? 0 : histogram.getValueAtPercentile(p)),
    snapshot(totalNs) {
      const total = Math.round(totalNs);
      return {
        name: meta.name,
        date: date.toISOString(),
        endReason: 'normal',
        options: meta.options,
        count,
        total,
        average: ok === 0 ? 0 : Math.round(sum / ok),
        fastest: ok === 0 ? 0 : fastest,
        slowest,
        rps: total === 0 ? 0 : count / (total / 1e9),
        errorDistribution: { ...errors },
        statusCodeDistribution: { ...statuses },
        latencyDistribution:
          ok === 0 ? null : PERCENTILES.map((p) => ({ percentage: p, latency: histogram.getValueAtPercentile(p) })),
      };
    },
  };
};

const msText = (ns: number): string => `${(ns / 1e6).toFixed(2)} ms`;

/** The text ghz prints with its default "summary" format. */
export const formatSummary = (r: GhzResult, extra: string[] = []): string => {
  const lines = [
    '',
    'Summary:',
    `  Name:\t${r.name}`,
    `  Count:\t${r.count}`,
    `  Total:\t${msText(r.total)}`,
    `  Slowest:\t${msText(r.slowest)}`,
    `  Fastest:\t${msText(r.fastest)}`,
    `  Average:\t${msText(r.average)}`,
    `  Requests/sec:\t${r.rps.toFixed(2)}`,
    '',
    'Latency distribution (successful calls):',
    ...(r.latencyDistribution ?? []).map((d) => `  ${d.percentage} % in ${msText(d.latency)}`),
    '',
    'Status code distribution:',
    ...Object.entries(r.statusCodeDistribution).map(([k, v]) => `  [${k}]\t${v} responses`),
  ];
  const errs = Object.entries(r.errorDistribution);
  if (errs.length > 0) lines.push('', 'Error distribution:', ...errs.map(([k, v]) => `  [${v}]\t${k}`));
  return `${[...lines, ...extra].join('\n')}\n`;
};

export type Budget = { p95Ns?: number; p99Ns?: number; maxErrorRate?: number };

/** Every budget the run missed, as sentences; empty when all held. */
export const missedBudgets = (r: GhzResult, b: Budget): string[] => {
  const at = (p: number) => r.latencyDistribution?.find((d) => d.percentage === p)?.latency;
  const out: string[] = [];
  const check = (p: 95 | 99, limit: number | undefined) => {
    if (limit === undefined) return;
    const v = at(p);
    if (v === undefined) out.push(`p${p} budget ${msText(limit)}: no successful call to measure`);
    else if (v > limit) out.push(`p${p} ${msText(v)} is over the budget of ${msText(limit)}`);
  };
  check(95, b.p95Ns);
  check(99, b.p99Ns);
  if (b.maxErrorRate !== undefined) {
    const failed = r.count - (r.statusCodeDistribution.OK ?? 0);
    const rate = r.count === 0 ? 1 : failed / r.count;
    if (rate > b.maxErrorRate)
      out.push(
        `error rate ${(rate * 100).toFixed(2)} % (${failed}/${r.count}) is over the budget of ${(b.maxErrorRate * 100).toFixed(2)} %`,
      );
  }
  return out;
};
