// Partner webhooks out: a durable JetStream consumer turns events into pending
// deliveries (acked once they are in Postgres), a dispatcher delivers them in
// order per subscription, and an outbox publisher puts delivery_failed events
// on JetStream.
import { startConsumerLoop, PoisonMessage } from '../shared/consumer.js';
import { allEventsSubject } from '../../contracts/names.js';
import { isConnectionError } from '../../platform/postgres/pool.js';
import { NotDeliverable, enqueueDeliveries } from './enqueue.js';
import { startDispatcher } from './dispatcher.js';
import { startOutboxPublisher } from './failedEvents.js';
import type { NatsConnection } from '@nats-io/transport-node';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Telemetry } from '../../platform/telemetry/telemetry.js';
import type { WebhooksOutSettings } from './settings.js';

export type WebhooksOut = { stop(): Promise<void> };

export const startWebhooksOut = async (o: {
  nc: NatsConnection;
  pool: pg.Pool;
  namespace: string;
  settings: WebhooksOutSettings;
  holder: string;
  log: Logger;
  telemetry?: Telemetry;
}): Promise<WebhooksOut> => {
  const attempts = o.telemetry?.metrics.counter(
    'webhook_delivery_attempts_total',
    'Partner webhook attempts: delivered, retry (scheduled again) or dead (given up)',
    ['outcome'],
  );
  for (const outcome of ['delivered', 'retry', 'dead']) attempts?.inc({ outcome }, 0);
  const outbox = startOutboxPublisher({
    pool: o.pool,
    nc: o.nc,
    namespace: o.namespace,
    log: o.log,
    intervalMs: Math.max(o.settings.pollMs, 500),
  });
  const dispatcher = startDispatcher({
    pool: o.pool,
    settings: o.settings,
    holder: o.holder,
    log: o.log,
    onDeliveryFailed: () => outbox.wake(),
    onAttempt: (outcome) => attempts?.inc({ outcome }),
  });
  const consumer = await startConsumerLoop({
    nc: o.nc,
    pool: o.pool,
    namespace: o.namespace,
    projector: 'webhooks_out',
    filterSubject: allEventsSubject(o.namespace),
    log: o.log,
    isOutage: (err) => isConnectionError(err),
    ...(o.telemetry === undefined ? {} : { telemetry: o.telemetry }),
    async apply(envelope, msg) {
      try {
        if ((await enqueueDeliveries(o.pool, envelope, msg.string(), msg.info.streamSequence)) > 0) dispatcher.wake();
      } catch (err) {
        if (err instanceof NotDeliverable) throw new PoisonMessage(err.message);
        throw err;
      }
    },
  });
  return {
    async stop() {
      await consumer.stop();
      await dispatcher.stop();
      await outbox.stop();
    },
  };
};
