// The availability projector process: JetStream to the Redis read model.
import { createPool, measurePoolWaits } from '../../platform/postgres/pool.js';
import { answers } from '../../platform/telemetry/probes.js';
import { privateTelemetry } from '../../platform/telemetry/telemetry.js';
import { prepareDatabase } from '../../platform/postgres/migrate.js';
import { connectNats } from '../../platform/nats.js';
import { createRedis } from '../../platform/redis.js';
import { CORE_SCHEMA } from '../../core/src/store/migrations.js';
import { CONSUMERS_SCHEMA } from '../shared/schema.js';
import { startAvailabilityProjector } from './projector.js';
import type { Logger } from 'pino';
import type { Config } from '../../platform/config.js';
import type { Component } from '../../platform/process.js';
import type { Telemetry } from '../../platform/telemetry/telemetry.js';

export const run = async (config: Config, log: Logger, o: { telemetry?: Telemetry } = {}): Promise<Component> => {
  const telemetry = o.telemetry ?? privateTelemetry();
  // Gaps are filled from the core's events table.
  await prepareDatabase(config.databaseUrl, [CORE_SCHEMA, CONSUMERS_SCHEMA], log);
  const pool = measurePoolWaits(
    createPool({ databaseUrl: config.databaseUrl, max: 3, applicationName: 'stockmind-availability' }),
    telemetry.metrics,
    'availability',
  );
  const nc = await connectNats(config.natsUrl, 'stockmind-availability');
  const redis = createRedis(config.redisUrl, { commandTimeoutMs: 2_000, name: 'stockmind-availability' });
  const loop = await startAvailabilityProjector({ nc, redis, pool, namespace: config.namespace, log, telemetry });
  let stopping = false;
  log.info({ redis: config.redisUrl, namespace: config.namespace }, 'availability projector started');
  return {
    name: 'availability',
    ready: async () => !stopping && !nc.isClosed() && (await answers(() => redis.ping())),
    async close() {
      stopping = true;
      await loop.stop();
      await nc.drain();
      redis.disconnect();
      await pool.end();
    },
  };
};
