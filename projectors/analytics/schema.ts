// The analytics store: its own database, isolated from the transactional one,
// so reports never slow a checkout.
import type pg from 'pg';

export const ANALYTICS_SCHEMA = `
  create table if not exists movement_facts (
    event_id uuid primary key,
    tenant_id text not null,
    location_id text not null,
    sku text not null,
    event_type text not null,
    channel text,
    operator text,
    quantity bigint not null,
    on_hand_delta bigint not null,
    reserved_delta bigint not null,
    committed_delta bigint not null,
    in_transit_delta bigint not null,
    quarantined_delta bigint not null,
    on_hand_after bigint not null,
    stream_version integer not null,
    occurred_at timestamptz not null,
    recorded_at timestamptz not null,
    day date not null
  );
  create index if not exists movement_facts_item_day on movement_facts (tenant_id, location_id, sku, day);

  -- One row per item and day (in the tenant's time zone): closing levels and the day's flows.
  create table if not exists daily_positions (
    tenant_id text not null,
    location_id text not null,
    sku text not null,
    day date not null,
    on_hand_close bigint not null,
    reserved_close bigint not null,
    committed_close bigint not null,
    in_transit_close bigint not null,
    quarantined_close bigint not null,
    close_version integer not null,
    received bigint not null default 0,
    shipped bigint not null default 0,
    reserved bigint not null default 0,
    released bigint not null default 0,
    movements integer not null default 0,
    primary key (tenant_id, location_id, sku, day)
  );
  -- The flows of the whole stock model (sales, write-offs, returns, transfers).
  alter table daily_positions
    add column if not exists sold bigint not null default 0,
    add column if not exists written_off bigint not null default 0,
    add column if not exists returned bigint not null default 0,
    add column if not exists transferred_in bigint not null default 0,
    add column if not exists transferred_out bigint not null default 0;
`;

export const migrateAnalytics = async (pool: pg.Pool): Promise<void> => {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query('select pg_advisory_xact_lock(7340121)');
    await client.query(ANALYTICS_SCHEMA);
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
};
