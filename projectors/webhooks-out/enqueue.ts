// From an event to one pending delivery per matching subscription, recorded in
// Postgres before the message is acknowledged. stream_seq (the JetStream
// sequence, i.e. the relay's commit order) orders each subscription's queue.
import { matchesEventType } from './subscriptions.js';
import { DELIVERY_FAILED } from './failedEvents.js';
import { uuidv5 } from '../../platform/ids.js';
import type pg from 'pg';
import type { Envelope } from '../../contracts/envelope.js';

const DELIVERY_NS = '5d2b8a61-0f3e-4b7c-9e18-7a6c4d1f2e90';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const deliveryIdFor = (subscriptionId: string, eventId: string): string =>
  uuidv5(JSON.stringify([subscriptionId, eventId]), DELIVERY_NS);

export class NotDeliverable extends Error {
  override name = 'NotDeliverable';
}

/** Returns the number of deliveries created (0 when none matched or all existed already). */
export const enqueueDeliveries = async (db: pg.Pool, e: Envelope, body: string, streamSeq: number): Promise<number> => {
  if (
    typeof e.tenantId !== 'string' ||
    typeof e.eventType !== 'string' ||
    typeof e.eventId !== 'string' ||
    !UUID.test(e.eventId)
  ) {
    throw new NotDeliverable('not an event envelope (tenantId, eventType, eventId)');
  }
  const { rows } = await db.query<{ subscription_id: string; event_types: string[] }>({
    name: 'wo_subs',
    // Only subscriptions that existed when the event was recorded: a new subscription does not get history.
    text: `select subscription_id, event_types from webhook_subscriptions
           where tenant_id = $1 and deleted_at is null and created_at <= $2::timestamptz`,
    values: [e.tenantId, e.recordedAt],
  });
  const about =
    e.eventType === DELIVERY_FAILED ? (e.payload as { subscriptionId?: unknown } | null)?.subscriptionId : undefined;
  // A subscription never gets the news of its own failures (it would fail again, and again).
  const targets = rows
    .filter((r) => matchesEventType(r.event_types, e.eventType) && r.subscription_id !== about)
    .map((r) => r.subscription_id);
  if (targets.length === 0) return 0;
  const result = await db.query({
    name: 'wo_enqueue',
    text: `insert into webhook_deliveries (delivery_id, subscription_id, tenant_id, stream_seq, event_id, event_type, body, status)
           select u.delivery_id, u.subscription_id, $3, $4, $5, $6, $7, 'pending' from unnest($1::uuid[], $2::uuid[]) as u(delivery_id, subscription_id)
           on conflict (subscription_id, event_id) do nothing`,
    values: [
      targets.map((t) => deliveryIdFor(t, e.eventId)),
      targets,
      e.tenantId,
      streamSeq,
      e.eventId,
      e.eventType,
      body,
    ],
  });
  return result.rowCount ?? 0;
};
