// Partner subscriptions and what happened to their deliveries.
import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';

export type Subscription = {
  id: string;
  url: string;
  eventTypes: string[];
  description: string;
  createdBy: string;
  createdAt: string;
};

type SubscriptionRow = {
  subscription_id: string;
  url: string;
  event_types: string[];
  description: string;
  created_by: string;
  created_at: Date;
};

const toSubscription = (r: SubscriptionRow): Subscription => ({
  id: r.subscription_id,
  url: r.url,
  eventTypes: r.event_types,
  description: r.description,
  createdBy: r.created_by,
  createdAt: r.created_at.toISOString(),
});

/** An exact type, a prefix ending in ".*" (stockmind.stock.*), or "*" for every event. */
export const EVENT_TYPE_PATTERN = /^(\*|stockmind(\.[a-z0-9_]+){0,2}\.\*|stockmind\.[a-z_]+\.[a-z0-9_]+\.v\d+)$/;

export const matchesEventType = (patterns: readonly string[], eventType: string): boolean =>
  patterns.some((p) => p === '*' || p === eventType || (p.endsWith('.*') && eventType.startsWith(p.slice(0, -1))));

export const createSubscription = async (
  db: pg.Pool,
  o: { tenantId: string; url: string; eventTypes: string[]; description: string; createdBy: string },
): Promise<{ subscription: Subscription; secret: string }> => {
  const secret = `whsec_${randomBytes(32).toString('base64url')}`;
  const { rows } = await db.query<SubscriptionRow>(
    `insert into webhook_subscriptions (subscription_id, tenant_id, url, event_types, secret, description, created_by)
     values ($1, $2, $3, $4, $5, $6, $7)
     returning subscription_id, url, event_types, description, created_by, created_at`,
    [randomUUID(), o.tenantId, o.url, o.eventTypes, secret, o.description, o.createdBy],
  );
  return { subscription: toSubscription(rows[0] as SubscriptionRow), secret };
};

const COLUMNS = 'subscription_id, url, event_types, description, created_by, created_at';

export const listSubscriptions = async (db: pg.Pool, tenantId: string): Promise<Subscription[]> => {
  const { rows } = await db.query<SubscriptionRow>(
    `select ${COLUMNS} from webhook_subscriptions where tenant_id = $1 and deleted_at is null order by created_at, subscription_id`,
    [tenantId],
  );
  return rows.map(toSubscription);
};

export const getSubscription = async (db: pg.Pool, tenantId: string, id: string): Promise<Subscription | null> => {
  const { rows } = await db.query<SubscriptionRow>(
    `select ${COLUMNS} from webhook_subscriptions where tenant_id = $1 and subscription_id = $2 and deleted_at is null`,
    [tenantId, id],
  );
  return rows[0] === undefined ? null : toSubscription(rows[0]);
};

/** Stops deliveries: pending ones are cancelled (the rows and their attempts stay in Postgres). */
export const deleteSubscription = async (db: pg.Pool, tenantId: string, id: string): Promise<boolean> => {
  const { rows } = await db.query<{ gone: string }>(
    `with gone as (
       update webhook_subscriptions set deleted_at = now() where tenant_id = $1 and subscription_id = $2 and deleted_at is null returning subscription_id
     ), cancelled as (
       update webhook_deliveries set status = 'cancelled', finished_at = now(), lease_holder = null, lease_until = null
       where subscription_id in (select subscription_id from gone) and status = 'pending' returning 1
     )
     select (select count(*) from gone) as gone, (select count(*) from cancelled) as cancelled`,
    [tenantId, id],
  );
  return Number(rows[0]?.gone ?? 0) === 1;
};

export type Attempt = {
  attempt: number;
  startedAt: string;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  outcome: string;
};

export type Delivery = {
  id: string;
  eventId: string;
  eventType: string;
  status: 'pending' | 'delivered' | 'dead' | 'cancelled';
  attempts: Attempt[];
  nextAttemptAt: string | null;
  createdAt: string;
  finishedAt: string | null;
};

type DeliveryRow = {
  delivery_id: string;
  event_id: string;
  event_type: string;
  status: Delivery['status'];
  next_attempt_at: Date;
  created_at: Date;
  finished_at: Date | null;
  attempts: {
    attempt: number;
    started_at: string;
    duration_ms: number;
    status_code: number | null;
    error: string | null;
    outcome: string;
  }[];
};

/** Newest first, each with every attempt in order. */
export const listDeliveries = async (
  db: pg.Pool,
  tenantId: string,
  subscriptionId: string,
  o: { status?: Delivery['status']; limit: number },
): Promise<Delivery[]> => {
  const { rows } = await db.query<DeliveryRow>(
    `select d.delivery_id, d.event_id, d.event_type, d.status, d.next_attempt_at, d.created_at, d.finished_at,
            coalesce((select json_agg(json_build_object('attempt', a.attempt, 'started_at', a.started_at, 'duration_ms', a.duration_ms,
                                                        'status_code', a.status_code, 'error', a.error, 'outcome', a.outcome) order by a.attempt)
                      from webhook_attempts a where a.delivery_id = d.delivery_id), '[]') as attempts
     from webhook_deliveries d
     where d.tenant_id = $1 and d.subscription_id = $2 and ($3::text is null or d.status = $3)
     order by d.stream_seq desc
     limit $4`,
    [tenantId, subscriptionId, o.status ?? null, o.limit],
  );
  return rows.map((r) => ({
    id: r.delivery_id,
    eventId: r.event_id,
    eventType: r.event_type,
    status: r.status,
    attempts: r.attempts.map((a) => ({
      attempt: a.attempt,
      startedAt: new Date(a.started_at).toISOString(),
      durationMs: a.duration_ms,
      statusCode: a.status_code,
      error: a.error,
      outcome: a.outcome,
    })),
    nextAttemptAt: r.status === 'pending' ? r.next_attempt_at.toISOString() : null,
    createdAt: r.created_at.toISOString(),
    finishedAt: r.finished_at?.toISOString() ?? null,
  }));
};
