// stockmind.webhooks.delivery_failed.v1: a delivery was dead-lettered.
//
// Where it lives: not in the stock ledger (it is an integration fact, not a
// stock movement, and the ledger's streams are stock items and reservations).
// It is written to webhook_events in the same transaction that dead-letters the
// delivery (an outbox: recorded exactly when the delivery died, never lost),
// then published to the namespace's JetStream stream like every event, on
// <ns>.evt.<tenant>.webhooks.delivery_failed with Nats-Msg-Id = event id, so
// any consumer (an alerting subscription, a projector) sees it.
import { jetstream } from '@nats-io/jetstream';
import { uuidv5 } from '../../platform/ids.js';
import { encodePart, eventSubject } from '../../contracts/names.js';
import type { NatsConnection } from '@nats-io/transport-node';
import type pg from 'pg';
import type { Logger } from 'pino';

export const DELIVERY_FAILED = 'stockmind.webhooks.delivery_failed.v1';

const NAMESPACE_UUID = '0b9e4f57-71a8-4d0c-a6c1-54d3e2f9b7a0';

export type DeliveryFailed = {
  subscriptionId: string;
  deliveryId: string;
  url: string;
  eventId: string;
  eventType: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string;
};

/** The envelope of the wire format; its stream is the subscription (`webhook_subscription.<b64url id>`). */
export const deliveryFailedEnvelope = (tenantId: string, streamVersion: number, f: DeliveryFailed, at: Date) => ({
  eventId: uuidv5(JSON.stringify(['delivery_failed', f.deliveryId]), NAMESPACE_UUID),
  eventType: DELIVERY_FAILED,
  schemaVersion: 1,
  tenantId,
  streamId: `webhook_subscription.${encodePart(f.subscriptionId)}`,
  stream: { kind: 'webhook_subscription', subscriptionId: f.subscriptionId },
  streamVersion,
  // Not a ledger event: it has no position in the ledger's commit order.
  globalPosition: '0',
  occurredAt: at.toISOString(),
  recordedAt: at.toISOString(),
  producer: 'stockmind-webhooks-out',
  correlationId: f.eventId,
  causationId: f.eventId,
  traceId: null,
  channel: null,
  operator: 'webhooks-out',
  policyVersion: 0,
  payload: f,
});

/** Inside the dead-lettering transaction. */
export const recordDeliveryFailed = async (
  client: pg.ClientBase,
  tenantId: string,
  f: DeliveryFailed,
): Promise<string> => {
  const { rows: v } = await client.query<{ next: number; now: Date }>(
    'select coalesce(max(stream_version), 0) + 1 as next, now() as now from webhook_events where subscription_id = $1',
    [f.subscriptionId],
  );
  const version = v[0]?.next ?? 1;
  const envelope = deliveryFailedEnvelope(tenantId, version, f, v[0]?.now ?? new Date());
  await client.query(
    `insert into webhook_events (event_id, tenant_id, subscription_id, stream_version, envelope, recorded_at)
     values ($1, $2, $3, $4, $5, $6) on conflict (event_id) do nothing`,
    [envelope.eventId, tenantId, f.subscriptionId, version, JSON.stringify(envelope), envelope.recordedAt],
  );
  return envelope.eventId;
};

export type OutboxPublisher = { wake(): void; stop(): Promise<void> };

/** Publishes recorded events in order; marks each only after JetStream acknowledged it. */
export const startOutboxPublisher = (o: {
  pool: pg.Pool;
  nc: NatsConnection;
  namespace: string;
  log: Logger;
  intervalMs: number;
}): OutboxPublisher => {
  const js = jetstream(o.nc, { timeout: 5_000 });
  let running = true;
  let wakeUp: () => void = () => undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    });
  const drain = async (): Promise<number> => {
    const { rows } = await o.pool.query<{
      id: string;
      event_id: string;
      tenant_id: string;
      envelope: { eventType: string };
    }>('select id, event_id, tenant_id, envelope from webhook_events where published_at is null order by id limit 100');
    for (const r of rows) {
      await js.publish(eventSubject(o.namespace, r.tenant_id, r.envelope.eventType), JSON.stringify(r.envelope), {
        msgID: r.event_id,
      });
      await o.pool.query('update webhook_events set published_at = now() where id = $1', [r.id]);
    }
    return rows.length;
  };
  const loop = (async () => {
    while (running) {
      try {
        if ((await drain()) > 0) continue;
      } catch (err) {
        o.log.warn({ err: (err as Error).message }, 'delivery_failed events not published yet; retrying');
      }
      await sleep(o.intervalMs);
    }
  })();
  return {
    wake: () => wakeUp(),
    async stop() {
      running = false;
      wakeUp();
      await loop;
    },
  };
};
