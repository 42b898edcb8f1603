// Versioned, idempotent schema migrations, applied at start under an advisory
// lock so several processes starting at once apply each step exactly once.
import type pg from 'pg';

type Migration = { version: number; name: string; sql: string };

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'event store, idempotency, expiry, refusals, policies',
    sql: `
      -- A stream is identified by columns, never by a concatenated string.
      create table streams (
        stream_id bigint generated always as identity primary key,
        tenant_id text not null,
        kind text collate "C" not null check (kind in ('reservation', 'stock_item')),
        location_id text collate "C" not null default '',
        sku text collate "C" not null default '',
        reservation_id text collate "C" not null default '',
        version integer not null default 0,
        state jsonb,
        created_at timestamptz,
        updated_at timestamptz,
        unique (tenant_id, kind, location_id, sku, reservation_id),
        check (
          (kind = 'stock_item' and location_id <> '' and sku <> '' and reservation_id = '')
          or (kind = 'reservation' and reservation_id <> '' and location_id = '' and sku = '')
        )
      );

      create table events (
        global_position bigint generated always as identity,
        -- the writing transaction: readers follow commit order with it (see commitOrder.ts)
        tx_id xid8 not null default pg_current_xact_id(),
        stream_id bigint not null references streams (stream_id),
        version integer not null check (version > 0),
        tenant_id text not null,
        event_id uuid not null unique,
        event_type text not null,
        schema_version integer not null default 1,
        data jsonb not null,
        metadata jsonb not null,
        occurred_at timestamptz not null,
        recorded_at timestamptz not null,
        primary key (stream_id, version)
      );
      create index events_commit_order on events (tx_id, global_position);
      create index events_stream_recorded on events (stream_id, recorded_at);

      -- Keys are scoped by tenant; a row is inserted first in the command's transaction.
      create table idempotency_keys (
        tenant_id text not null,
        scope text not null,
        key text not null,
        request_hash text not null,
        response jsonb,
        created_at timestamptz not null default now(),
        primary key (tenant_id, scope, key)
      );

      -- Due reservations, claimed with FOR UPDATE SKIP LOCKED by any core process.
      create table reservation_expiry (
        tenant_id text not null,
        reservation_id text not null,
        expires_at timestamptz not null,
        primary key (tenant_id, reservation_id)
      );
      create index reservation_expiry_due on reservation_expiry (expires_at);

      -- Lost demand: written after the refusing transaction ended, never under a stream lock.
      create table demand_refusals (
        id bigint generated always as identity primary key,
        tenant_id text not null,
        channel text,
        reservation_id text not null,
        sku text not null,
        location_id text not null,
        requested bigint not null,
        available bigint not null,
        recorded_at timestamptz not null
      );

      create table tenant_policies (
        tenant_id text not null,
        version integer not null check (version > 0),
        policy jsonb not null,
        updated_by text not null,
        updated_at timestamptz not null default now(),
        primary key (tenant_id, version)
      );
    `,
  },
  {
    version: 2,
    name: 'relay lease and checkpoint, dead letters',
    sql: `
      -- One active relay per name; the holder renews, a standby takes over after expiry.
      create table relay_leases (
        name text primary key,
        holder text not null,
        expires_at timestamptz not null
      );
      -- Where the relay is in commit order; moved only after the broker acknowledged.
      create table relay_checkpoints (
        name text primary key,
        tx_id xid8 not null,
        position bigint not null,
        updated_at timestamptz not null
      );
      -- Messages a projector could not apply after a bounded number of deliveries.
      create table dead_letters (
        id bigint generated always as identity primary key,
        consumer text not null,
        subject text not null,
        stream_sequence bigint not null,
        deliveries integer not null,
        payload text not null,
        error text not null,
        recorded_at timestamptz not null default now()
      );
    `,
  },
  {
    version: 3,
    name: 'catalog, network, transfers, audit index',
    sql: `
      -- Products and their packaging units: [{ "name": "box", "baseUnits": 12 }, ...].
      create table products (
        tenant_id text not null,
        sku text collate "C" not null,
        name text not null,
        base_unit text not null,
        units jsonb not null default '[]',
        version integer not null,
        updated_at timestamptz not null,
        updated_by text not null,
        primary key (tenant_id, sku)
      );
      -- Warehouses and stores under regions: a tree per tenant (parent_id '' = a root).
      create table locations (
        tenant_id text not null,
        location_id text collate "C" not null,
        name text not null,
        kind text not null check (kind in ('WAREHOUSE', 'STORE', 'REGION')),
        parent_id text collate "C" not null default '',
        version integer not null,
        updated_at timestamptz not null,
        updated_by text not null,
        primary key (tenant_id, location_id)
      );
      create index locations_parent on locations (tenant_id, parent_id);
      -- Where a transfer goes: written with its dispatch, so ReceiveTransfer needs only the id.
      create table transfers (
        tenant_id text not null,
        transfer_id text collate "C" not null,
        sku text collate "C" not null,
        from_location_id text collate "C" not null,
        to_location_id text collate "C" not null,
        dispatched_at timestamptz not null,
        primary key (tenant_id, transfer_id)
      );
      -- The audit trail, newest first, per tenant.
      create index events_tenant_recorded on events (tenant_id, recorded_at, global_position);
    `,
  },
  {
    version: 4,
    name: 'back-dated events index',
    sql: `
      -- GetStockAt "as it happened": only back-dated events (occurred before recorded) are indexed,
      -- so looking for late corrections after an instant stays one small seek per stream.
      create index events_backdated on events (stream_id, occurred_at) where occurred_at < recorded_at;
    `,
  },
  {
    version: 5,
    name: 'stock items by SKU',
    sql: `
      -- ListMovements by SKU alone, and region reads of one SKU, find the SKU's items without a scan.
      create index streams_tenant_sku on streams (tenant_id, sku) where kind = 'stock_item';
    `,
  },
  {
    version: 6,
    name: 'which command a refusal refused',
    sql: `
      -- Sales and transfers are refused for want of stock too: 'reserve', 'sale' or 'dispatch';
      -- reservation_id holds that command's id (reservation, movement or transfer).
      alter table demand_refusals add column command text not null default 'reserve';
    `,
  },
  {
    version: 20,
    name: 'marketplace webhooks in, partner webhooks out',
    sql: `
      -- HMAC secrets per tenant and marketplace (kept readable: HMAC needs the secret itself).
      create table marketplace_secrets (
        tenant_id text not null,
        marketplace text not null,
        secret text not null,
        created_at timestamptz not null default now(),
        primary key (tenant_id, marketplace)
      );
      -- One row per marketplace event id: a redelivery answers the recorded outcome.
      -- 'processing' rows are claims; they are deleted when the core could not answer.
      create table marketplace_events (
        tenant_id text not null,
        marketplace text not null,
        event_id text not null,
        body_hash text not null,
        status text not null check (status in ('processing', 'done')),
        http_status integer,
        response jsonb,
        claimed_at timestamptz not null default now(),
        completed_at timestamptz,
        primary key (tenant_id, marketplace, event_id)
      );
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
];

const LOCK_KEY = 0x5170c4; // arbitrary, constant: serialises migrators across processes

export const migrate = async (pool: pg.Pool): Promise<number[]> => {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query('select pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await client.query(`create table if not exists schema_migrations (
      version integer primary key, name text not null, applied_at timestamptz not null default now())`);
    const { rows } = await client.query<{ version: number }>('select version from schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('insert into schema_migrations (version, name) values ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    await client.query('commit');
    return applied;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
};
