// The long-running commands. Each imports only the part it runs, so a relay or projector process
// never loads the Connect or grpc-js server.
import { loadConfig } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { signToken } from '../platform/auth/tokens.js';
import { UsageError } from './usage.js';
import type { Logger } from 'pino';
import type { Config } from '../platform/config.js';
import type { Component } from '../platform/process.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

/** Call before starting a long-running component: a SIGTERM during start-up still shuts down cleanly. */
const listenForStop = (): Promise<void> =>
  new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });

const runUntilSignal = async (stop: Promise<void>, components: Component[]): Promise<void> => {
  await stop;
  for (const c of [...components].reverse()) await c.close();
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

const startCore = async (config: Config, log: Logger) => {
  const core = await (await import('../core/src/main.js')).run(config, log);
  return { name: 'core', ...core };
};

/** Every part in one process, in dependency order; the development token last. */
const startAll = async (config: Config, log: Logger): Promise<Component[]> => {
  const started: Component[] = [];
  try {
    const core = await startCore(config, log.child({ component: 'core' }));
    started.push(core);
    const coreUrl = `http://${localHost(config)}:${core.port}`;
    started.push(await (await import('../projectors/relay/main.js')).run(config, log.child({ component: 'relay' })));
    for (const [name, load] of Object.entries(PROJECTORS)) {
      started.push(await (await load()).run(config, log.child({ component: name })));
    }
    const webhooks = await (
      await import('../gateways/webhooks/main.js')
    ).run(config, log.child({ component: 'webhooks' }), { coreUrl });
    started.push(webhooks);
    const edge = await (
      await import('../gateways/rest/main.js')
    ).run(config, log.child({ component: 'edge' }), { coreUrl });
    started.push(edge);
    printCoreListening(config.coreHost, core);
    out(`StockMind REST edge listening on ${edge.url} (docs ${edge.url}/docs)`);
    out(
      `relay and projectors running (NATS ${config.natsUrl}, Redis ${config.redisUrl}, namespace "${config.namespace}")`,
    );
    out(`marketplace webhooks on http://${config.coreHost}:${webhooks.port}; partner webhooks out running`);
    if (config.jwtSecretIsDevelopmentDefault) {
      const claims = { tenant: 'demo', sub: 'developer', roles: ['admin' as const], locations: [], channels: [] };
      out(`development token (tenant "demo", role admin, 12 h):\n${await signToken(config.jwtSecret, claims, 43_200)}`);
    }
    return started;
  } catch (err) {
    for (const c of started.reverse()) await c.close().catch(() => undefined);
    throw err;
  }
};

/** `start`, `core`, `edge`, `relay`, `project <name>`, `webhooks`: runs until SIGTERM or SIGINT. */
export const runProcess = async (command: string, rest: string[]): Promise<void> => {
  const stop = listenForStop();
  const readSide = command === 'relay' || command === 'project';
  const config = loadConfig(process.env, { needsJwtSecret: !readSide });
  const log = (name: string) => createLogger(config.logLevel, name);
  switch (command) {
    case 'start':
      return runUntilSignal(stop, await startAll(config, log('stockmind')));
    case 'core': {
      const core = await startCore(config, log('core'));
      printCoreListening(config.coreHost, core);
      return runUntilSignal(stop, [core]);
    }
    case 'edge': {
      const edge = await (await import('../gateways/rest/main.js')).run(config, log('edge'));
      out(`StockMind REST edge listening on ${edge.url} (core ${config.coreUrl}; docs ${edge.url}/docs)`);
      return runUntilSignal(stop, [edge]);
    }
    case 'relay':
      return runUntilSignal(stop, [await (await import('../projectors/relay/main.js')).run(config, log('relay'))]);
    case 'project': {
      const which = rest[0] ?? '';
      if (!(which in PROJECTORS))
        throw new UsageError('project: name a projector: availability, analytics or webhooks-out');
      const projector = await (await PROJECTORS[which as keyof typeof PROJECTORS]()).run(config, log(which));
      return runUntilSignal(stop, [projector]);
    }
    case 'webhooks': {
      const gateway = await (await import('../gateways/webhooks/main.js')).run(config, log('webhooks'));
      out(
        `StockMind marketplace webhooks listening on http://${config.coreHost}:${gateway.port} (core ${config.coreUrl})`,
      );
      return runUntilSignal(stop, [gateway]);
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
};
