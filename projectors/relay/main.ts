// The relay process: Postgres events, in commit order, to NATS JetStream.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { createPool } from '../../platform/postgres/pool.js';
import { prepareDatabase } from '../../platform/postgres/migrate.js';
import { connectNats, ensureEventStream } from '../../platform/nats.js';
import { CORE_SCHEMA } from '../../core/src/store/migrations.js';
import { RELAY_SCHEMA } from './schema.js';
import { startRelay } from './relay.js';
import type { Logger } from 'pino';
import type { Config } from '../../platform/config.js';
import type { Component } from '../../platform/process.js';

export const run = async (config: Config, log: Logger): Promise<Component> => {
  // It reads the core's events table, so a relay started first creates it too.
  await prepareDatabase(config.databaseUrl, [CORE_SCHEMA, RELAY_SCHEMA], log);
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
