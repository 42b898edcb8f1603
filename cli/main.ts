// The `stockmind` command. Output meant for scripts goes to stdout (a token is
// always the last line); logs go to stderr.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { isConnectionError } from '../platform/postgres/pool.js';
import { prepareDatabase, startCore } from '../core/src/main.js';
import {
  runAnalyticsProjector,
  runAvailabilityProjector,
  runReadModelCommand,
  runRelay,
  runWebhooksOutProjector,
} from '../projectors/main.js';
import { SecretUsageError, marketplaceSecretCommand, runWebhookGateway } from '../gateways/webhooks/main.js';
import { ROLES, TENANT_ID, signToken } from '../platform/auth/tokens.js';
import { CHANNELS } from '../core/src/domain/shared.js';
import type { Channel } from '../core/src/domain/shared.js';
import type { Role } from '../platform/auth/tokens.js';

const USAGE = `usage: stockmind <command> [options]

commands:
  start                     run everything (core, relay, projectors, REST edge, marketplace webhooks,
                            partner webhooks out) and print a development token
  core                      run the core alone (gRPC, gRPC-Web and Connect on CORE_PORT, default 50051;
                            plain gRPC over grpc-js on CORE_GRPC_PORT too, when set)
  edge                      run the REST edge alone (EDGE_PORT, default 8080) against the core at CORE_URL
  relay                     run the relay alone (Postgres events -> NATS JetStream)
  project availability      run the availability projector alone (JetStream -> Redis)
  project analytics         run the analytics projector alone (JetStream -> ANALYTICS_DATABASE_URL)
  project webhooks-out      run partner webhook delivery alone (JetStream -> subscribed partner URLs)
  webhooks                  run the marketplace webhook gateway alone (WEBHOOK_PORT, default 8081; core at CORE_URL)
  webhooks secret --tenant T --marketplace M [--rotate]
                            print the tenant's signing secret for a marketplace (created when missing)
  replay availability|analytics [--tenant T]
                            rebuild a read model from the event store
  verify availability [--tenant T]
                            compare Redis with the ledger; print drifting keys, exit 1 on drift
  migrate                   create the database if missing and apply migrations
  token --tenant T --roles R[,R] [--sub S] [--channels C[,C]] [--locations L[,L]] [--ttl SECONDS]
                            print a bearer token (roles: ${ROLES.join(', ')};
                            channels: ${CHANNELS.map((c) => `CHANNEL_${c}`).join(', ')})
  bench reserve|query|lag|servers [--seconds N] [--concurrency N,N] [--skus N] [--rate N]
                            figures for docs/benchmarks.md, each with a baseline from the same run
  seed [--tenants N] [--locations N] [--skus N] [--store-skus N]
                            bulk-load a dataset (COPY) and rebuild the read models
  loadtest <ghz config.json> [--total N] [-c N] [--rps N] [--duration D] [--p95 D] ...
                            run a ghz config with grpc-js clients; exit 1 when a budget is missed

environment: DATABASE_URL, ANALYTICS_DATABASE_URL, NATS_URL, REDIS_URL, STOCKMIND_NAMESPACE,
             CORE_PORT, CORE_GRPC_PORT, CORE_URL, EDGE_PORT, WEBHOOK_PORT, STOCKMIND_WEBHOOK_*,
             STOCKMIND_JWT_SECRET, NODE_ENV, LOG_LEVEL (README: Configuration)`;

class UsageError extends Error {}

const printCoreListening = (host: string, core: { port: number; grpcPort: number | null }) => {
  process.stdout.write(`StockMind core listening on http://${host}:${core.port} (gRPC, gRPC-Web, Connect)\n`);
  if (core.grpcPort !== null)
    process.stdout.write(
      `StockMind core gRPC (grpc-js, recommended for internal services) on ${host}:${core.grpcPort}\n`,
    );
};

const list = (v: string | undefined): string[] =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** Call before starting a long-running component: a SIGTERM during start-up still shuts down cleanly. */
const listenForStop = (): Promise<void> =>
  new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });

const runUntilSignal = async (stop: Promise<void>, close: () => Promise<void>): Promise<void> => {
  await stop;
  await close();
};

const tokenCommand = async (args: string[]): Promise<void> => {
  const { values } = parseArgs({
    args,
    options: {
      tenant: { type: 'string' },
      roles: { type: 'string' },
      sub: { type: 'string', default: 'cli' },
      channels: { type: 'string' },
      locations: { type: 'string' },
      ttl: { type: 'string', default: '43200' },
    },
  });
  const tenant = values.tenant ?? '';
  if (!TENANT_ID.test(tenant)) throw new UsageError('--tenant is required and must match ^[a-z0-9][a-z0-9-]{0,62}$');
  const roles = list(values.roles);
  const badRole = roles.find((r) => !(ROLES as readonly string[]).includes(r));
  if (roles.length === 0 || badRole !== undefined)
    throw new UsageError(`--roles must list one or more of ${ROLES.join(', ')}`);
  const channels = list(values.channels).map((c) => c.replace(/^CHANNEL_/, ''));
  const badChannel = channels.find((c) => !(CHANNELS as readonly string[]).includes(c));
  if (badChannel !== undefined)
    throw new UsageError(`unknown channel "${badChannel}"; use ${CHANNELS.map((c) => `CHANNEL_${c}`).join(', ')}`);
  const ttl = Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl <= 0) throw new UsageError('--ttl must be a positive number of seconds');
  const config = loadConfig();
  const token = await signToken(
    config.jwtSecret,
    {
      tenant,
      sub: values.sub,
      roles: roles as Role[],
      locations: list(values.locations),
      channels: channels as Channel[],
    },
    ttl,
  );
  if (config.jwtSecretIsDevelopmentDefault)
    process.stderr.write('note: signed with the development secret (set STOCKMIND_JWT_SECRET outside development)\n');
  process.stdout.write(`${token}\n`);
};

const main = async (argv: string[]): Promise<void> => {
  const [command, ...rest] = argv;
  switch (command) {
    case 'token':
      return tokenCommand(rest);
    case 'migrate': {
      const config = loadConfig(process.env, { needsJwtSecret: false });
      await prepareDatabase(config, createLogger(config.logLevel, 'migrate'));
      process.stdout.write('database ready\n');
      return;
    }
    case 'core': {
      const stop = listenForStop();
      const config = loadConfig();
      const core = await startCore(config, createLogger(config.logLevel, 'core'));
      printCoreListening(config.coreHost, core);
      return runUntilSignal(stop, core.close);
    }
    case 'edge': {
      const stop = listenForStop();
      const config = loadConfig();
      const { loadEdgeSettings, startEdge } = await import('../gateways/rest/main.js');
      const { webhookSubscriptions } = await import('../gateways/rest/subscriptions.js');
      const log = createLogger(config.logLevel, 'edge');
      const subscriptions = webhookSubscriptions(config, log);
      const edge = await startEdge(config, loadEdgeSettings(), {
        coreUrl: config.coreUrl,
        port: config.edgePort,
        log,
        plugins: [subscriptions.plugin],
      });
      process.stdout.write(
        `StockMind REST edge listening on ${edge.url} (core ${config.coreUrl}; docs ${edge.url}/docs)\n`,
      );
      return runUntilSignal(stop, async () => {
        await edge.close();
        await subscriptions.close();
      });
    }
    case 'relay': {
      const stop = listenForStop();
      const config = loadConfig(process.env, { needsJwtSecret: false });
      const relay = await runRelay(config, createLogger(config.logLevel, 'relay'));
      return runUntilSignal(stop, relay.close);
    }
    case 'project': {
      const stop = listenForStop();
      const config = loadConfig(process.env, { needsJwtSecret: false });
      const which = rest[0];
      if (which !== 'availability' && which !== 'analytics' && which !== 'webhooks-out')
        throw new UsageError('project: name a projector: availability, analytics or webhooks-out');
      const run =
        which === 'availability'
          ? runAvailabilityProjector
          : which === 'analytics'
            ? runAnalyticsProjector
            : runWebhooksOutProjector;
      const projector = await run(config, createLogger(config.logLevel, which));
      return runUntilSignal(stop, projector.close);
    }
    case 'webhooks': {
      if (rest[0] === 'secret') {
        const { values } = parseArgs({
          args: rest.slice(1),
          options: {
            tenant: { type: 'string' },
            marketplace: { type: 'string' },
            rotate: { type: 'boolean', default: false },
          },
        });
        const config = loadConfig(process.env, { needsJwtSecret: false });
        const secret = await marketplaceSecretCommand(config, createLogger(config.logLevel, 'webhooks'), {
          tenant: values.tenant ?? '',
          marketplace: values.marketplace ?? '',
          rotate: values.rotate,
        }).catch((err: unknown) => {
          throw err instanceof SecretUsageError ? new UsageError(err.message) : err;
        });
        process.stdout.write(`${secret}\n`);
        return;
      }
      if (rest.length > 0) throw new UsageError(`webhooks: unknown argument "${rest[0]}"`);
      const stop = listenForStop();
      const config = loadConfig();
      const gateway = await runWebhookGateway(config, createLogger(config.logLevel, 'webhooks'));
      process.stdout.write(
        `StockMind marketplace webhooks listening on http://${config.coreHost}:${gateway.port} (core ${config.coreUrl})\n`,
      );
      return runUntilSignal(stop, gateway.close);
    }
    case 'start': {
      const stop = listenForStop();
      const config = loadConfig();
      const log = createLogger(config.logLevel, 'stockmind');
      const core = await startCore(config, log.child({ component: 'core' }));
      const readSide = [
        await runRelay(config, log.child({ component: 'relay' })),
        await runAvailabilityProjector(config, log.child({ component: 'availability' })),
        await runAnalyticsProjector(config, log.child({ component: 'analytics' })),
        await runWebhooksOutProjector(config, log.child({ component: 'webhooks-out' })),
        await runWebhookGateway(config, log.child({ component: 'webhooks' }), {
          coreUrl: `http://${config.coreHost === '0.0.0.0' ? '127.0.0.1' : config.coreHost}:${core.port}`,
        }),
      ];
      const coreHost = config.coreHost === '0.0.0.0' ? '127.0.0.1' : config.coreHost;
      const { loadEdgeSettings, startEdge } = await import('../gateways/rest/main.js');
      const { webhookSubscriptions } = await import('../gateways/rest/subscriptions.js');
      const subscriptions = webhookSubscriptions(config, log.child({ component: 'edge' }));
      const edge = await startEdge(config, loadEdgeSettings(), {
        coreUrl: `http://${coreHost}:${core.port}`,
        port: config.edgePort,
        log: log.child({ component: 'edge' }),
        plugins: [subscriptions.plugin],
      });
      printCoreListening(config.coreHost, core);
      process.stdout.write(`StockMind REST edge listening on ${edge.url} (docs ${edge.url}/docs)\n`);
      process.stdout.write(
        `relay and projectors running (NATS ${config.natsUrl}, Redis ${config.redisUrl}, namespace "${config.namespace}")\n`,
      );
      process.stdout.write(
        `marketplace webhooks on http://${config.coreHost}:${config.webhookPort}; partner webhooks out running\n`,
      );
      if (config.jwtSecretIsDevelopmentDefault) {
        const token = await signToken(
          config.jwtSecret,
          { tenant: 'demo', sub: 'developer', roles: ['admin'], locations: [], channels: [] },
          43_200,
        );
        process.stdout.write(`development token (tenant "demo", role admin, 12 h):\n${token}\n`);
      }
      return runUntilSignal(stop, async () => {
        await edge.close();
        await subscriptions.close();
        await core.close();
        for (const c of readSide.reverse()) await c.close();
      });
    }
    case 'replay':
    case 'verify': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { tenant: { type: 'string' } },
      });
      const model = positionals[0] ?? '';
      if (values.tenant !== undefined && !TENANT_ID.test(values.tenant))
        throw new UsageError('--tenant must match ^[a-z0-9][a-z0-9-]{0,62}$');
      if (!['availability', 'analytics'].includes(model) || (command === 'verify' && model !== 'availability')) {
        throw new UsageError(command === 'replay' ? 'replay availability|analytics' : 'verify availability');
      }
      const config = loadConfig(process.env, { needsJwtSecret: false });
      const code = await runReadModelCommand(
        config,
        createLogger(config.logLevel, command),
        command,
        model,
        values.tenant,
        (line) => process.stdout.write(`${line}\n`),
      );
      if (code !== 0) process.exit(code);
      return;
    }
    case 'bench': {
      const { runBench } = await import('../loadtest/bench/bench.js');
      return runBench(rest);
    }
    case 'seed': {
      const { runSeed } = await import('../loadtest/seed/main.js');
      await runSeed(rest);
      return;
    }
    case 'loadtest': {
      const { runLoadtest } = await import('../loadtest/runner/main.js');
      const { missed } = await runLoadtest(rest);
      if (missed.length > 0) process.exit(1);
      return;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
};

/** Operational failures at start say what to fix, without a stack trace. */
const startupProblem = (err: unknown): string | null => {
  if (!(err instanceof Error)) return null;
  if (/^listen E[A-Z]+/.test(err.message))
    return `cannot ${err.message}; set CORE_PORT / CORE_GRPC_PORT / CORE_HOST (EDGE_PORT / EDGE_HOST for the REST edge) to a free local address`;
  if (isConnectionError(err))
    return `cannot reach a required server (${err.message}); check DATABASE_URL (NATS_URL, REDIS_URL) and that it is running`;
  return null;
};

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof UsageError) process.stderr.write(`stockmind: ${err.message}\n\n${USAGE}\n`);
    else if (err instanceof ConfigError) process.stderr.write(`stockmind: ${err.message}\n`);
    else if (err instanceof Error && 'code' in err && err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      process.stderr.write(`stockmind: ${err.message}\n`);
    else if (startupProblem(err) !== null) process.stderr.write(`stockmind: ${startupProblem(err)}\n`);
    else process.stderr.write(`stockmind: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(err instanceof UsageError ? 64 : 1);
  },
);
