// Latency statistics over successful calls, in nanoseconds (ghz reports integers in ns).
export type Summary = {
  count: number;
  ok: number;
  errors: Record<string, number>;
  seconds: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
};

/** Nearest-rank percentile of an ascending array. */
export const percentile = (sorted: Float64Array | number[], p: number): number => {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
};

export const summarize = (latenciesNs: number[], errors: Record<string, number>, seconds: number): Summary => {
  const sorted = Float64Array.from(latenciesNs).sort();
  const failed = Object.values(errors).reduce((a, b) => a + b, 0);
  return {
    count: sorted.length + failed,
    ok: sorted.length,
    errors,
    seconds,
    rps: sorted.length / seconds,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? 0 : (sorted[sorted.length - 1] ?? 0),
  };
};

export const ms = (ns: number): string => (ns / 1e6).toFixed(2);
