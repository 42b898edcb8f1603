// Process runners for the read side: each component runs alone (scale-out) or
// together under `stockmind start`.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { createPool } from '../platform/postgres/pool.js';
import { createRedis, redisReady } from '../platform/redis.js';
import { prepareDatabase } from '../core/src/main.js';
import { connectNats, ensureEventStream } from '../platform/nats.js';
import { startRelay } from './relay/relay.js';
import { startAvailabilityProjector } from './availability/projector.js';
import { startAnalyticsProjector } from './analytics/projector.js';
import { migrateAnalytics } from './analytics/schema.js';
import { ensureDatabase } from '../platform/postgres/pool.js';
import { createPolicySource } from '../core/src/store/policies.js';
import { replayAnalytics, replayAvailability, verifyAvailability } from './rebuild.js';
import { startWebhooksOut } from './webhooks-out/projector.js';
import { loadWebhooksOutSettings } from './webhooks-out/settings.js';
import type { Logger } from 'pino';
import type { Config } from '../platform/config.js';

export type Component = { name: string; close(): Promise<void> };

export const runRelay = async (config: Config, log: Logger): Promise<Component> => {
  await prepareDatabase(config, log);
  const pool = createPool({ databaseUrl: config.databaseUrl, max: 3, applicationName: 'stockmind-relay' });
  const nc = await connectNats(config.natsUrl, 'stockmind-relay');
  await ensureEventStream(nc, config.namespace);
  const relay = await startRelay({
    pool,
    nc,
    namespace: config.namespace,
    holderId: `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    log,
  });
  const lagTimer = setInterval(() => {
    relay.lag().then(
      (lag) =>
        log.info(
          { lagEvents: lag.events, lagSeconds: lag.seconds, leader: relay.isLeader(), published: relay.published() },
          'relay lag',
        ),
      () => undefined,
    );
  }, 30_000);
  lagTimer.unref();
  log.info({ nats: config.natsUrl, namespace: config.namespace }, 'relay started');
  return {
    name: 'relay',
    async close() {
      clearInterval(lagTimer);
      await relay.stop();
      await nc.drain();
      await pool.end();
    },
  };
};

export const runAvailabilityProjector = async (config: Config, log: Logger): Promise<Component> => {
  await prepareDatabase(config, log);
  const pool = createPool({ databaseUrl: config.databaseUrl, max: 3, applicationName: 'stockmind-availability' });
  const nc = await connectNats(config.natsUrl, 'stockmind-availability');
  const redis = createRedis(config.redisUrl, { commandTimeoutMs: 2_000, name: 'stockmind-availability' });
  const loop = await startAvailabilityProjector({ nc, redis, pool, namespace: config.namespace, log });
  log.info({ redis: config.redisUrl, namespace: config.namespace }, 'availability projector started');
  return {
    name: 'availability',
    async close() {
      await loop.stop();
      await nc.drain();
      redis.disconnect();
      await pool.end();
    },
  };
};

export const runAnalyticsProjector = async (config: Config, log: Logger): Promise<Component> => {
  await prepareDatabase(config, log);
  await ensureDatabase(config.analyticsDatabaseUrl);
  const pool = createPool({ databaseUrl: config.databaseUrl, max: 2, applicationName: 'stockmind-analytics' });
  const analytics = createPool({
    databaseUrl: config.analyticsDatabaseUrl,
    max: 3,
    applicationName: 'stockmind-analytics',
  });
  await migrateAnalytics(analytics);
  const nc = await connectNats(config.natsUrl, 'stockmind-analytics');
  const loop = await startAnalyticsProjector({
    nc,
    analytics,
    pool,
    policies: createPolicySource(pool),
    namespace: config.namespace,
    log,
  });
  log.info(
    { analyticsDatabase: new URL(config.analyticsDatabaseUrl).pathname.slice(1), namespace: config.namespace },
    'analytics projector started',
  );
  return {
    name: 'analytics',
    async close() {
      await loop.stop();
      await nc.drain();
      await Promise.all([pool.end(), analytics.end()]);
    },
  };
};

export const runWebhooksOutProjector = async (config: Config, log: Logger): Promise<Component> => {
  const settings = loadWebhooksOutSettings();
  await prepareDatabase(config, log);
  const pool = createPool({ databaseUrl: config.databaseUrl, max: 4, applicationName: 'stockmind-webhooks-out' });
  const nc = await connectNats(config.natsUrl, 'stockmind-webhooks-out');
  const holder = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const out = await startWebhooksOut({ nc, pool, namespace: config.namespace, settings, holder, log });
  log.info(
    {
      namespace: config.namespace,
      retryScheduleMs: settings.retryScheduleMs,
      allowPrivateTargets: settings.allowPrivateTargets,
    },
    'partner webhooks projector started',
  );
  return {
    name: 'webhooks-out',
    async close() {
      await out.stop();
      await nc.drain();
      await pool.end();
    },
  };
};

/** `stockmind replay …` and `stockmind verify …`: one-shot commands against the configured stores. */
export const runReadModelCommand = async (
  config: Config,
  log: Logger,
  command: 'replay' | 'verify',
  model: string,
  tenantId: string | undefined,
  out: (line: string) => void,
): Promise<number> => {
  await prepareDatabase(config, log);
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
