// Partner webhooks out: subscriptions, the delivery queue, attempts and the failure outbox.
import type { Schema } from '../../platform/postgres/migrate.js';

export const WEBHOOKS_OUT_SCHEMA: Schema = {
  part: 'webhooks-out',
  legacy: { 20: 1 },
  migrations: [
    {
      version: 1,
      name: 'partner subscriptions, deliveries, attempts, failure outbox',
      sql: `
      create table webhook_subscriptions (
        subscription_id uuid primary key,
        tenant_id text not null,
        url text not null,
        event_types text[] not null,
        secret text not null,
        description text not null default '',
        created_by text not null,
        created_at timestamptz not null default now(),
        deleted_at timestamptz
      );
      create index webhook_subscriptions_tenant on webhook_subscriptions (tenant_id) where deleted_at is null;
      -- One row per (subscription, event); stream_seq (the JetStream sequence = commit order) orders a subscription's queue.
      create table webhook_deliveries (
        delivery_id uuid primary key,
        subscription_id uuid not null references webhook_subscriptions (subscription_id),
        tenant_id text not null,
        stream_seq bigint not null,
        event_id uuid not null,
        event_type text not null,
        body text not null,
        status text not null check (status in ('pending', 'delivered', 'dead', 'cancelled')),
        attempts integer not null default 0,
        next_attempt_at timestamptz not null default now(),
        lease_holder text,
        lease_until timestamptz,
        last_error text,
        created_at timestamptz not null default now(),
        finished_at timestamptz,
        unique (subscription_id, event_id)
      );
      create index webhook_deliveries_queue on webhook_deliveries (subscription_id, stream_seq) where status = 'pending';
      create index webhook_deliveries_listing on webhook_deliveries (subscription_id, created_at desc);
      create table webhook_attempts (
        delivery_id uuid not null references webhook_deliveries (delivery_id),
        attempt integer not null check (attempt > 0),
        started_at timestamptz not null,
        duration_ms integer not null,
        status_code integer,
        error text,
        outcome text not null check (outcome in ('delivered', 'retry', 'dead')),
        primary key (delivery_id, attempt)
      );
      -- stockmind.webhooks.delivery_failed.v1, written in the transaction that dead-letters the delivery
      -- and published to JetStream by the webhooks-out process (an outbox; not a stock-ledger event).
      create table webhook_events (
        id bigint generated always as identity primary key,
        event_id uuid not null unique,
        tenant_id text not null,
        subscription_id uuid not null references webhook_subscriptions (subscription_id),
        stream_version integer not null,
        envelope jsonb not null,
        recorded_at timestamptz not null default now(),
        published_at timestamptz,
        unique (subscription_id, stream_version)
      );
      create index webhook_events_unpublished on webhook_events (id) where published_at is null;
    `,
    },
  ],
};
