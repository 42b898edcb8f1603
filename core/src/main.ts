// The core process: builds the pool, store, use cases and server, and passes
// them as parameters. No DI container.
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { buildCore } from './app/inventory.js';
import { startExpiryLoop } from './app/expiry.js';
import { authInterceptor, errorAndLogInterceptor } from './api/interceptors.js';
import { inventoryImpl } from './api/routes.js';
import { healthImpl } from './api/health.js';
import { startGrpcJsServer } from './api/grpcServer.js';
import { Health } from '../../gen/grpc/health/v1/health_pb.js';
import { startServer } from './api/server.js';
import { MAX_MESSAGE_BYTES, connectHandler } from './api/framing.js';
import { cachingVerifier } from '../../platform/auth/tokens.js';
import { createPool, measurePoolWaits } from '../../platform/postgres/pool.js';
import { privateTelemetry } from '../../platform/telemetry/telemetry.js';
import { rpcTelemetry, telemetryInterceptor } from './api/telemetry.js';
import { metricsObserver } from './app/observer.js';
import { errorReason } from './api/errors.js';
import { prepareDatabase } from '../../platform/postgres/migrate.js';
import { CORE_SCHEMA } from './store/migrations.js';
import { createRedis } from '../../platform/redis.js';
import { createAvailabilityCache } from './readmodels/availabilityCache.js';
import { createStockWatchHub } from './readmodels/stockWatch.js';
import { EVENTS_NOTIFY_CHANNEL } from '../../contracts/names.js';
import { connectNats } from '../../platform/nats.js';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../../platform/config.js';
import type { Telemetry } from '../../platform/telemetry/telemetry.js';

export type CoreProcess = {
  port: number;
  grpcPort: number | null;
  /** True while the core can serve reads: the ledger or the Redis view answers (writes may be failing). */
  ready(): Promise<boolean>;
  servesReads: true;
  close(): Promise<void>;
};

/** The core process: `stockmind core`, or the core inside `stockmind start`. */
export const run = async (config: Config, log: Logger, o: { telemetry?: Telemetry } = {}): Promise<CoreProcess> => {
  const telemetry = o.telemetry ?? privateTelemetry();
  if (config.jwtSecretIsDevelopmentDefault) {
    log.warn(
      { nodeEnv: config.nodeEnv },
      'STOCKMIND_JWT_SECRET is not set: using the development secret (refused when NODE_ENV=production)',
    );
  }
  await prepareDatabase(config.databaseUrl, [CORE_SCHEMA], log);
  const pool = measurePoolWaits(
    createPool({ databaseUrl: config.databaseUrl, max: config.pgPoolMax, applicationName: 'stockmind-core' }),
    telemetry.metrics,
    'core',
  );
  const readPool = measurePoolWaits(
    createPool({
      databaseUrl: config.databaseUrl,
      max: 8,
      applicationName: 'stockmind-core-read',
      connectTimeoutMs: 1_000,
    }),
    telemetry.metrics,
    'core_read',
  );
  const redis = createRedis(config.redisUrl, { commandTimeoutMs: 50, name: 'stockmind-core' });
  const { inventory, policies, refusals } = buildCore({
    pool,
    readPool,
    log,
    producer: 'stockmind-core',
    availability: createAvailabilityCache(redis, config.namespace),
    notifyChannel: config.notifyOnCommit ? EVENTS_NOTIFY_CHANNEL : null,
    observer: metricsObserver(telemetry.metrics, errorReason),
    tracing: telemetry.tracing,
  });
  const hub = createStockWatchHub(() => connectNats(config.natsUrl, 'stockmind-core-watch'), config.namespace, log);
  const expiry = startExpiryLoop(inventory, config.expiryIntervalMs, log);

  let shuttingDown = false;
  // Ready = can serve reads: with the ledger down, QueryStock answers from Redis (stale) and
  // writes fail fast with UNAVAILABLE, so a load balancer must keep sending the reads.
  const canServeReads = async (): Promise<boolean> => {
    if (shuttingDown) return false;
    const [ledger, view] = await Promise.all([
      readPool.query({ text: 'select 1', query_timeout: 1_000 } as pg.QueryConfig).then(
        () => true,
        () => false,
      ),
      redis.ping().then(
        () => true,
        () => false,
      ),
    ]);
    return !shuttingDown && (ledger || view);
  };
  const probe = {
    stopping: () => shuttingDown,
    status: async () => ((await canServeReads()) ? ('SERVING' as const) : ('NOT_SERVING' as const)),
  };
  const rpc = rpcTelemetry(telemetry);

  const verify = cachingVerifier(config.jwtSecret);
  const inventoryHandlers = inventoryImpl({ inventory, hub, policies });
  const healthHandlers = healthImpl(probe);
  const handler = connectHandler({
    routes: (router) => {
      router.service(InventoryService, inventoryHandlers);
      router.service(Health, healthHandlers);
    },
    interceptors: [
      telemetryInterceptor(rpc),
      errorAndLogInterceptor(log),
      authInterceptor(verify, new Set([InventoryService.typeName])),
    ],
    readMaxBytes: MAX_MESSAGE_BYTES,
    log,
  });
  const server = await startServer({ handler, host: config.coreHost, port: config.corePort, log });
  log.info({ port: server.port, host: config.coreHost }, 'core listening (gRPC, gRPC-Web, Connect)');
  const grpcServer =
    config.coreGrpcPort === null
      ? null
      : await startGrpcJsServer({
          services: [
            { service: InventoryService, impl: inventoryHandlers, protected: true },
            { service: Health, impl: healthHandlers, protected: false },
          ],
          verify,
          log,
          host: config.coreHost,
          port: config.coreGrpcPort,
          telemetry: rpc,
        });
  if (grpcServer !== null)
    log.info({ port: grpcServer.port, host: config.coreHost }, 'core listening (gRPC over grpc-js)');

  return {
    port: server.port,
    grpcPort: grpcServer?.port ?? null,
    ready: canServeReads,
    servesReads: true,
    async close() {
      shuttingDown = true;
      await hub.close();
      await Promise.all([server.close(), grpcServer?.close()]);
      await expiry.stop();
      await refusals.close();
      redis.disconnect();
      await Promise.all([pool.end(), readPool.end()]);
      log.info('core stopped');
    },
  };
};
