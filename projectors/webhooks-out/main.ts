// The partner-webhooks process: JetStream to subscribed partner URLs, signed, retried, dead-lettered.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { createPool, measurePoolWaits } from '../../platform/postgres/pool.js';
import { answers } from '../../platform/telemetry/probes.js';
import { privateTelemetry } from '../../platform/telemetry/telemetry.js';
import { prepareDatabase } from '../../platform/postgres/migrate.js';
import { connectNats } from '../../platform/nats.js';
import { CONSUMERS_SCHEMA } from '../shared/schema.js';
import { WEBHOOKS_OUT_SCHEMA } from './schema.js';
import { startWebhooksOut } from './projector.js';
import { loadWebhooksOutSettings } from './settings.js';
import type { Logger } from 'pino';
import type { Config } from '../../platform/config.js';
import type { Component } from '../../platform/process.js';
import type { Telemetry } from '../../platform/telemetry/telemetry.js';

export const run = async (config: Config, log: Logger, o: { telemetry?: Telemetry } = {}): Promise<Component> => {
  const telemetry = o.telemetry ?? privateTelemetry();
  const settings = loadWebhooksOutSettings();
  await prepareDatabase(config.databaseUrl, [CONSUMERS_SCHEMA, WEBHOOKS_OUT_SCHEMA], log);
  const pool = measurePoolWaits(
    createPool({ databaseUrl: config.databaseUrl, max: 4, applicationName: 'stockmind-webhooks-out' }),
    telemetry.metrics,
    'webhooks_out',
  );
  const nc = await connectNats(config.natsUrl, 'stockmind-webhooks-out');
  const holder = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const out = await startWebhooksOut({ nc, pool, namespace: config.namespace, settings, holder, log, telemetry });
  let stopping = false;
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
    ready: async () => !stopping && !nc.isClosed() && (await answers(() => pool.query('select 1'))),
    async close() {
      stopping = true;
      await out.stop();
      await nc.drain();
      await pool.end();
    },
  };
};
