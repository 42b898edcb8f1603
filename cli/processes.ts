// The long-running commands. Each imports only the part it runs, so a relay or projector process
// never loads the Connect or grpc-js server.
import { loadConfig } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { signToken } from '../platform/auth/tokens.js';
import { startProbeServer } from '../platform/telemetry/probes.js';
import { telemetryFromEnv } from '../platform/telemetry/telemetry.js';
import { UsageError } from './usage.js';
import type { Logger } from 'pino';
import type { Config } from '../platform/config.js';
import type { Component } from '../platform/process.js';
import type { ProbeServer, ReadinessCheck } from '../platform/telemetry/probes.js';
import type { Telemetry } from '../platform/telemetry/telemetry.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

/** Call before starting a long-running component: a SIGTERM during start-up still shuts down cleanly. */
const listenForStop = (): Promise<void> =>
  new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });

/** The process's parts as /readyz sees them: not ready before all started, nor once draining. */
type Lifecycle = { phase: 'starting' | 'running' | 'draining'; components: Component[] };

/** Readiness = the process can serve reads: where a part serves reads, the others only inform. */
const checksOf = (life: Lifecycle): ReadinessCheck[] => {
  if (life.phase !== 'running') return [{ name: life.phase, ready: async () => false }];
  const readers = life.components.some((c) => c.servesReads === true);
  return life.components.map((c) => ({
    name: c.name,
    ready: c.ready ?? (async () => true),
    informational: readers && c.servesReads !== true,
  }));
};

/** /metrics, /healthz and /readyz on STOCKMIND_METRICS_PORT, for the parts that have no HTTP port of their own. */
const serveProbes = async (config: Config, log: Logger, telemetry: Telemetry, life: Lifecycle) => {
  const probes = await startProbeServer({
    host: config.coreHost,
    port: config.metricsPort,
    metrics: telemetry.metrics,
    checks: () => checksOf(life),
    log,
  });
  out(`metrics and probes on http://${localHost(config)}:${probes.port} (/metrics, /healthz, /readyz)`);
  return probes;
};

/**
 * Graceful drain, bounded: readiness turns false at once, each part stops accepting, finishes what
 * is in flight and closes (in reverse order of start); past STOCKMIND_DRAIN_MS the process exits 1.
 */
const runUntilSignal = async (
  stop: Promise<void>,
  config: Config,
  log: Logger,
  telemetry: Telemetry,
  life: Lifecycle,
  probes: ProbeServer | null,
): Promise<void> => {
  life.phase = 'running';
  await stop;
  life.phase = 'draining';
  const started = Date.now();
  const overdue = setTimeout(() => {
    log.error({ drainMs: config.drainMs }, 'drain took longer than STOCKMIND_DRAIN_MS; exiting with work cut off');
    process.exit(1);
  }, config.drainMs);
  overdue.unref();
  for (const c of [...life.components].reverse()) await c.close();
  await telemetry.tracing?.shutdown().catch((err: unknown) => log.warn({ err }, 'spans not flushed'));
  await probes?.close();
  clearTimeout(overdue);
  log.info({ ms: Date.now() - started }, 'drained');
};

const localHost = (config: Config) => (config.coreHost === '0.0.0.0' ? '127.0.0.1' : config.coreHost);

const printCoreListening = (host: string, core: { port: number; grpcPort: number | null }) => {
  out(`StockMind core listening on http://${host}:${core.port} (gRPC, gRPC-Web, Connect)`);
  if (core.grpcPort !== null)
    out(`StockMind core gRPC (grpc-js, recommended for internal services) on ${host}:${core.grpcPort}`);
};

const PROJECTORS = {
  availability: () => import('../projectors/availability/main.js'),
  analytics: () => import('../projectors/analytics/main.js'),
  'webhooks-out': () => import('../projectors/webhooks-out/main.js'),
} as const;

const startCore = async (config: Config, log: Logger, telemetry: Telemetry) => {
  const core = await (await import('../core/src/main.js')).run(config, log, { telemetry });
  return { name: 'core', ...core };
};

/** Every part in one process, in dependency order, on one registry and one tracer. */
const startAll = async (config: Config, log: Logger, telemetry: Telemetry, started: Component[]): Promise<void> => {
  try {
    const core = await startCore(config, log.child({ component: 'core' }), telemetry);
    started.push(core);
    const coreUrl = `http://${localHost(config)}:${core.port}`;
    started.push(
      await (await import('../projectors/relay/main.js')).run(config, log.child({ component: 'relay' }), { telemetry }),
    );
    for (const [name, load] of Object.entries(PROJECTORS)) {
      started.push(await (await load()).run(config, log.child({ component: name }), { telemetry }));
    }
    const webhooks = await (
      await import('../gateways/webhooks/main.js')
    ).run(config, log.child({ component: 'webhooks' }), { coreUrl, telemetry });
    started.push(webhooks);
    const edge = await (
      await import('../gateways/rest/main.js')
    ).run(config, log.child({ component: 'edge' }), { coreUrl, telemetry });
    started.push(edge);
    printCoreListening(config.coreHost, core);
    out(`StockMind REST edge listening on ${edge.url} (docs ${edge.url}/docs)`);
    out(
      `relay and projectors running (NATS ${config.natsUrl}, Redis ${config.redisUrl}, namespace "${config.namespace}")`,
    );
    out(`marketplace webhooks on http://${config.coreHost}:${webhooks.port}; partner webhooks out running`);
  } catch (err) {
    for (const c of [...started].reverse()) await c.close().catch(() => undefined);
    throw err;
  }
};

/** Under `start`, the development token as the last line of stdout. */
const printDevelopmentToken = async (config: Config) => {
  if (config.jwtSecretIsDevelopmentDefault) {
    const claims = { tenant: 'demo', sub: 'developer', roles: ['admin' as const], locations: [], channels: [] };
    out(`development token (tenant "demo", role admin, 12 h):\n${await signToken(config.jwtSecret, claims, 43_200)}`);
  }
};

/** The OpenTelemetry service name of each command (OTEL_SERVICE_NAME overrides it). */
const serviceName = (command: string, rest: string[]): string =>
  command === 'start' ? 'stockmind' : `stockmind-${command === 'project' ? (rest[0] ?? 'projector') : command}`;

/** `start`, `core`, `edge`, `relay`, `project <name>`, `webhooks`: runs until SIGTERM or SIGINT. */
export const runProcess = async (command: string, rest: string[]): Promise<void> => {
  const stop = listenForStop();
  const readSide = command === 'relay' || command === 'project';
  const config = loadConfig(process.env, { needsJwtSecret: !readSide });
  const log = (name: string) => createLogger(config.logLevel, name);
  if (command === 'project' && !((rest[0] ?? '') in PROJECTORS))
    throw new UsageError('project: name a projector: availability, analytics or webhooks-out');
  if (!['start', 'core', 'edge', 'relay', 'project', 'webhooks'].includes(command))
    throw new UsageError(`unknown command "${command}"`);
  const processLog = log(command === 'start' ? 'stockmind' : command === 'project' ? (rest[0] ?? command) : command);
  const telemetry = telemetryFromEnv(process.env, serviceName(command, rest));
  const life: Lifecycle = { phase: 'starting', components: [] };
  // The edge and the webhook gateway answer the probes on their own HTTP port.
  await startParts(command, rest, config, processLog, telemetry, life.components);
  // The probe listener comes after the parts, so a wrong CORE_HOST or a taken port is named by the
  // part that listens first; the edge and the webhook gateway answer the probes on their own port.
  let probes: ProbeServer | null = null;
  try {
    if (command !== 'edge' && command !== 'webhooks') probes = await serveProbes(config, processLog, telemetry, life);
  } catch (err) {
    for (const c of [...life.components].reverse()) await c.close().catch(() => undefined);
    throw err;
  }
  if (command === 'start') await printDevelopmentToken(config);
  return runUntilSignal(stop, config, processLog, telemetry, life, probes);
};

const startParts = async (
  command: string,
  rest: string[],
  config: Config,
  log: Logger,
  telemetry: Telemetry,
  started: Component[],
): Promise<void> => {
  switch (command) {
    case 'start':
      return startAll(config, log, telemetry, started);
    case 'core': {
      const core = await startCore(config, log, telemetry);
      started.push(core);
      return printCoreListening(config.coreHost, core);
    }
    case 'edge': {
      const edge = await (await import('../gateways/rest/main.js')).run(config, log, { telemetry });
      started.push(edge);
      out(`StockMind REST edge listening on ${edge.url} (core ${config.coreUrl}; docs ${edge.url}/docs)`);
      return;
    }
    case 'relay':
      started.push(await (await import('../projectors/relay/main.js')).run(config, log, { telemetry }));
      return;
    case 'project': {
      const which = rest[0] as keyof typeof PROJECTORS;
      started.push(await (await PROJECTORS[which]()).run(config, log, { telemetry }));
      return;
    }
    case 'webhooks': {
      const gateway = await (await import('../gateways/webhooks/main.js')).run(config, log, { telemetry });
      started.push(gateway);
      out(
        `StockMind marketplace webhooks listening on http://${config.coreHost}:${gateway.port} (core ${config.coreUrl})`,
      );
      return;
    }
  }
};
