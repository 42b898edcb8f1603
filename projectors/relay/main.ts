// The relay process: Postgres events, in commit order, to NATS JetStream.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { createPool, measurePoolWaits } from '../../platform/postgres/pool.js';
import { privateTelemetry } from '../../platform/telemetry/telemetry.js';
import { startRelayMetrics } from './metrics.js';
import { prepareDatabase } from '../../platform/postgres/migrate.js';
import { connectNats, ensureEventStream } from '../../platform/nats.js';
import { CORE_SCHEMA } from '../../core/src/store/migrations.js';
import { RELAY_SCHEMA } from './schema.js';
import { startRelay } from './relay.js';
import type { Logger } from 'pino';
import type { Config } from '../../platform/config.js';
import type { Component } from '../../platform/process.js';
import type { Telemetry } from '../../platform/telemetry/telemetry.js';

export const run = async (config: Config, log: Logger, o: { telemetry?: Telemetry } = {}): Promise<Component> => {
  const telemetry = o.telemetry ?? privateTelemetry();
  // It reads the core's events table, so a relay started first creates it too.
  await prepareDatabase(config.databaseUrl, [CORE_SCHEMA, RELAY_SCHEMA], log);
  const pool = measurePoolWaits(
    createPool({ databaseUrl: config.databaseUrl, max: 3, applicationName: 'stockmind-relay' }),
    telemetry.metrics,
    'relay',
  );
  const nc = await connectNats(config.natsUrl, 'stockmind-relay');
  await ensureEventStream(nc, config.namespace);
  const relay = await startRelay({
    pool,
    nc,
    namespace: config.namespace,
    holderId: `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    log,
    tracing: telemetry.tracing,
  });
  const metrics = startRelayMetrics({ relay, pool, metrics: telemetry.metrics, log });
  let stopping = false;
  log.info({ nats: config.natsUrl, namespace: config.namespace }, 'relay started');
  return {
    name: 'relay',
    // Ready while it can publish (or stand by): its broker connection is open and the ledger answers.
    ready: async () =>
      !stopping &&
      !nc.isClosed() &&
      (await pool.query('select 1').then(
        () => true,
        () => false,
      )),
    async close() {
      stopping = true;
      metrics.stop();
      await relay.stop();
      await nc.drain();
      await pool.end();
    },
  };
};
