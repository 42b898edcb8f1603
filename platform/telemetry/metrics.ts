// Prometheus metrics (prom-client) on a registry each process owns and hands down; `stockmind start`
// hands one registry to every part. Names carry the `stockmind_` prefix, durations are in seconds and
// no metric has a tenant label (ARCHITECTURE.md, "Metrics"). A part adds a metric in one line:
// `const attempts = metrics.counter('webhook_delivery_attempts_total', 'Webhook attempts', ['outcome'])`.
import client from 'prom-client';

export const METRIC_PREFIX = 'stockmind_';

/** Latency buckets in seconds, from a Redis read to a slow transaction. */
export const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type Metrics = {
  registry: client.Registry;
  counter<L extends string = never>(name: string, help: string, labels?: readonly L[]): client.Counter<L>;
  gauge<L extends string = never>(name: string, help: string, labels?: readonly L[]): client.Gauge<L>;
  histogram<L extends string = never>(
    name: string,
    help: string,
    labels?: readonly L[],
    buckets?: number[],
  ): client.Histogram<L>;
  /** The exposition text and its content type, as /metrics answers. */
  expose(): Promise<{ contentType: string; body: string }>;
};

export class MetricDefinitionError extends Error {
  override name = 'MetricDefinitionError';
}

/**
 * A registry with get-or-create helpers: two parts in one process (two projectors under
 * `start`) asking for the same metric share it, so neither registers it twice.
 */
export const createMetrics = (o: { processMetrics?: boolean } = {}): Metrics => {
  const registry = new client.Registry();
  if (o.processMetrics === true) client.collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });

  const existing = <T>(name: string, kind: string, labels: readonly string[]): T | null => {
    const found = registry.getSingleMetric(name) as (client.Metric & { labelNames?: string[] }) | undefined;
    if (found === undefined) return null;
    const have = (found as unknown as { type?: string }).type;
    const sameLabels = [...(found.labelNames ?? [])].sort().join() === [...labels].sort().join();
    if (have !== kind || !sameLabels)
      throw new MetricDefinitionError(`${name} is already registered as a ${have} with other labels`);
    return found as T;
  };
  const named = (name: string) => {
    if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new MetricDefinitionError(`metric name "${name}" is not snake_case`);
    return `${METRIC_PREFIX}${name}`;
  };

  return {
    registry,
    counter: (name, help, labels = []) => {
      const full = named(name);
      return (
        existing(full, 'counter', labels) ??
        new client.Counter({ name: full, help, labelNames: labels, registers: [registry] })
      );
    },
    gauge: (name, help, labels = []) => {
      const full = named(name);
      return (
        existing(full, 'gauge', labels) ??
        new client.Gauge({ name: full, help, labelNames: labels, registers: [registry] })
      );
    },
    histogram: (name, help, labels = [], buckets = SECONDS_BUCKETS) => {
      const full = named(name);
      return (
        existing(full, 'histogram', labels) ??
        new client.Histogram({ name: full, help, labelNames: labels, buckets, registers: [registry] })
      );
    },
    async expose() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
};
