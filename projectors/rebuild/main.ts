// `stockmind replay …` and `stockmind verify …`: one-shot rebuilds and checks of the read models.
import { createPool, ensureDatabase } from '../../platform/postgres/pool.js';
import { prepareDatabase } from '../../platform/postgres/migrate.js';
import { createRedis, redisReady } from '../../platform/redis.js';
import { CORE_SCHEMA } from '../../core/src/store/migrations.js';
import { createPolicySource } from '../../core/src/store/policies.js';
import { migrateAnalytics } from '../analytics/schema.js';
import { replayAnalytics, replayAvailability, verifyAvailability } from './rebuild.js';
import type { Logger } from 'pino';
import type { Config } from '../../platform/config.js';

export const runReadModelCommand = async (
  config: Config,
  log: Logger,
  command: 'replay' | 'verify',
  model: string,
  tenantId: string | undefined,
  out: (line: string) => void,
): Promise<number> => {
  await prepareDatabase(config.databaseUrl, [CORE_SCHEMA], log);
  const pool = createPool({ databaseUrl: config.databaseUrl, max: 3, applicationName: `stockmind-${command}` });
  try {
    if (model === 'availability') {
      const redis = createRedis(config.redisUrl, { commandTimeoutMs: 10_000, name: `stockmind-${command}` });
      try {
        await redisReady(redis, 5_000);
        if (command === 'replay') {
          const { items } = await replayAvailability({
            pool,
            redis,
            namespace: config.namespace,
            ...(tenantId ? { tenantId } : {}),
          });
          out(`availability rebuilt: ${items} stock items written to Redis`);
          return 0;
        }
        const { checked, drift } = await verifyAvailability({
          pool,
          redis,
          namespace: config.namespace,
          ...(tenantId ? { tenantId } : {}),
        });
        for (const d of drift)
          out(
            `DRIFT tenant=${d.tenantId} location=${JSON.stringify(d.locationId)} sku=${JSON.stringify(d.sku)} ledger: ${d.ledger} | redis: ${d.readModel}`,
          );
        out(`${checked} stock items checked, ${drift.length} drifting`);
        return drift.length === 0 ? 0 : 1;
      } finally {
        redis.disconnect();
      }
    }
    if (model === 'analytics' && command === 'replay') {
      await ensureDatabase(config.analyticsDatabaseUrl);
      const analytics = createPool({
        databaseUrl: config.analyticsDatabaseUrl,
        max: 2,
        applicationName: 'stockmind-replay',
      });
      try {
        await migrateAnalytics(analytics);
        const { events } = await replayAnalytics({
          pool,
          analytics,
          policies: createPolicySource(pool),
          ...(tenantId ? { tenantId } : {}),
        });
        out(`analytics rebuilt: ${events} movements recorded`);
        return 0;
      } finally {
        await analytics.end();
      }
    }
    throw new Error(
      command === 'replay'
        ? 'replay: name a read model: availability or analytics'
        : 'verify: name a read model: availability',
    );
  } finally {
    await pool.end();
  }
};
