// What a process hands each part it runs: one metrics registry and one tracer (or none). `stockmind
// start` builds one for all its parts; a part run without one (a spec) gets a private registry.
import { createMetrics } from './metrics.js';
import { tracingFromEnv } from './tracing.js';
import type { Metrics } from './metrics.js';
import type { Tracing } from './tracing.js';

export type Telemetry = { metrics: Metrics; tracing: Tracing | null };

/** A process's telemetry: a registry with the process metrics (CPU, memory, event loop), tracing as OTEL_* says. */
export const telemetryFromEnv = (env: NodeJS.ProcessEnv, serviceName: string): Telemetry => ({
  metrics: createMetrics({ processMetrics: true }),
  tracing: tracingFromEnv(env, serviceName),
});

/** A private registry and no tracing: for a part started without a process around it. */
export const privateTelemetry = (): Telemetry => ({ metrics: createMetrics(), tracing: null });
