// The analytics projector process: JetStream to the analytics database.
import { createPool, ensureDatabase, measurePoolWaits } from '../../platform/postgres/pool.js';
import { answers } from '../../platform/telemetry/probes.js';
import { privateTelemetry } from '../../platform/telemetry/telemetry.js';
import { prepareDatabase } from '../../platform/postgres/migrate.js';
import { connectNats } from '../../platform/nats.js';
import { CORE_SCHEMA } from '../../core/src/store/migrations.js';
import { createPolicySource } from '../../core/src/store/policies.js';
import { CONSUMERS_SCHEMA } from '../shared/schema.js';
import { startAnalyticsProjector } from './projector.js';
import { migrateAnalytics } from './schema.js';
import type { Logger } from 'pino';
import type { Config } from '../../platform/config.js';
import type { Component } from '../../platform/process.js';
import type { Telemetry } from '../../platform/telemetry/telemetry.js';

export const run = async (config: Config, log: Logger, o: { telemetry?: Telemetry } = {}): Promise<Component> => {
  const telemetry = o.telemetry ?? privateTelemetry();
  // Days follow each tenant's time zone, read from the core's policy rows.
  await prepareDatabase(config.databaseUrl, [CORE_SCHEMA, CONSUMERS_SCHEMA], log);
  await ensureDatabase(config.analyticsDatabaseUrl);
  const pool = createPool({ databaseUrl: config.databaseUrl, max: 2, applicationName: 'stockmind-analytics' });
  const analytics = measurePoolWaits(
    createPool({ databaseUrl: config.analyticsDatabaseUrl, max: 3, applicationName: 'stockmind-analytics' }),
    telemetry.metrics,
    'analytics',
  );
  await migrateAnalytics(analytics);
  const nc = await connectNats(config.natsUrl, 'stockmind-analytics');
  const loop = await startAnalyticsProjector({
    nc,
    analytics,
    pool,
    policies: createPolicySource(pool),
    namespace: config.namespace,
    log,
    telemetry,
  });
  let stopping = false;
  log.info(
    { analyticsDatabase: new URL(config.analyticsDatabaseUrl).pathname.slice(1), namespace: config.namespace },
    'analytics projector started',
  );
  return {
    name: 'analytics',
    ready: async () => !stopping && !nc.isClosed() && (await answers(() => analytics.query('select 1'))),
    async close() {
      stopping = true;
      await loop.stop();
      await nc.drain();
      await Promise.all([pool.end(), analytics.end()]);
    },
  };
};
