// The core's tables: the event store, idempotency, expiry, refusals, policies, catalog and network.
// Other parts own theirs (projectors/relay/schema.ts, projectors/shared/schema.ts,
// projectors/webhooks-out/schema.ts, gateways/webhooks/schema.ts). Versions skip 2 and 20: those
// belonged to the single list every part shared before (see `legacy`).
import { applyMigrations } from '../../../platform/postgres/migrate.js';
import type pg from 'pg';
import type { Migration, Schema } from '../../../platform/postgres/migrate.js';

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
];

export const CORE_SCHEMA: Schema = { part: 'core', migrations: MIGRATIONS, legacy: { 1: 1, 3: 3, 4: 4, 5: 5, 6: 6 } };

/** Applies the core's missing migrations; returns the versions applied. */
export const migrate = (pool: pg.Pool): Promise<number[]> => applyMigrations(pool, CORE_SCHEMA);
