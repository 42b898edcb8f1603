// The event store: streams with an inline snapshot, versioned appends, and
// row locks taken in one sorted statement so concurrent commands queue instead
// of failing, and multi-line commands never deadlock.
import type pg from 'pg';
import type { IdempotencyScope } from './idempotency.js';

export type StreamKey =
  { kind: 'stock_item'; locationId: string; sku: string } | { kind: 'reservation'; reservationId: string };

export const stockItemStreamKey = (locationId: string, sku: string): StreamKey => ({
  kind: 'stock_item',
  locationId,
  sku,
});
export const reservationStreamKey = (reservationId: string): StreamKey => ({ kind: 'reservation', reservationId });

/** The stream's identity columns: (kind, location_id, sku, reservation_id). */
const columnsOf = (key: StreamKey): [string, string, string, string] =>
  key.kind === 'stock_item' ? [key.kind, key.locationId, key.sku, ''] : [key.kind, '', '', key.reservationId];

/** An in-process map key for a stream; never stored or sent anywhere. */
export const streamKeyId = (key: StreamKey): string => JSON.stringify(columnsOf(key));

export type StoredStream = {
  streamId: string;
  key: StreamKey;
  version: number;
  state: unknown;
  createdAt: Date | null;
  updatedAt: Date | null;
};

type StreamRow = {
  stream_id: string;
  kind: 'stock_item' | 'reservation';
  location_id: string;
  sku: string;
  reservation_id: string;
  version: number;
  state: unknown;
  created_at: Date | null;
  updated_at: Date | null;
};

const toStream = (r: StreamRow): StoredStream => ({
  streamId: r.stream_id,
  key: r.kind === 'stock_item' ? stockItemStreamKey(r.location_id, r.sku) : reservationStreamKey(r.reservation_id),
  version: r.version,
  state: r.state,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const keyArrays = (keys: StreamKey[]): string[][] => {
  const cols: string[][] = [[], [], [], []];
  for (const key of keys) columnsOf(key).forEach((v, i) => cols[i]?.push(v));
  return cols;
};

/**
 * Creates missing stream rows and locks every row the command touches, in one
 * statement ordered COLLATE "C". Inserts run in the same order, so two commands
 * creating the same new streams cannot deadlock either.
 *
 * `now` is the command's timestamp: a clock reading taken after the locks
 * (the latest of the per-row readings; each row's is read once that row is
 * locked), never earlier than the last event of any stream it touches.
 */
export const lockStreams = async (
  client: pg.ClientBase,
  tenantId: string,
  keys: StreamKey[],
): Promise<{ streams: Map<string, StoredStream>; now: Date }> => {
  const arrays = keyArrays(keys);
  await client.query({
    name: 'sm_streams_ensure',
    text: `insert into streams (tenant_id, kind, location_id, sku, reservation_id)
           select $1, k, l, s, r from unnest($2::text[], $3::text[], $4::text[], $5::text[]) as u(k, l, s, r)
           order by k collate "C", l collate "C", s collate "C", r collate "C"
           on conflict do nothing`,
    values: [tenantId, ...arrays],
  });
  const { rows } = await client.query<StreamRow & { now: Date }>({
    name: 'sm_streams_lock',
    text: `with locked as materialized (
             select stream_id, kind, location_id, sku, reservation_id, version, state, created_at, updated_at
             from streams
             where tenant_id = $1
               and (kind, location_id, sku, reservation_id) in
                   (select * from unnest($2::text[], $3::text[], $4::text[], $5::text[]))
             order by kind, location_id, sku, reservation_id
             for update
           )
           select locked.*, clock_timestamp() as now from locked`,
    values: [tenantId, ...arrays],
  });
  let now = new Date(0);
  const streams = new Map<string, StoredStream>();
  for (const r of rows) {
    const stream = toStream(r);
    streams.set(streamKeyId(stream.key), stream);
    if (r.now > now) now = r.now;
    if (r.updated_at !== null && r.updated_at > now) now = r.updated_at;
  }
  return { streams, now };
};

/** Reads streams without locking (for queries and for immutable parts of state). */
export const readStreams = async (
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  keys: StreamKey[],
): Promise<Map<string, StoredStream>> => {
  const { rows } = await db.query<StreamRow>({
    name: 'sm_streams_read',
    text: `select stream_id, kind, location_id, sku, reservation_id, version, state, created_at, updated_at
           from streams
           where tenant_id = $1
             and (kind, location_id, sku, reservation_id) in
                 (select * from unnest($2::text[], $3::text[], $4::text[], $5::text[]))`,
    values: [tenantId, ...keyArrays(keys)],
  });
  return new Map(rows.map((r) => [streamKeyId(toStream(r).key), toStream(r)]));
};

export type NewEvent = {
  eventId: string;
  /** Wire name, e.g. stockmind.stock.stock_reserved.v1 */
  eventType: string;
  schemaVersion: number;
  data: unknown;
  occurredAt: Date;
};

export type StreamAppend = { stream: StoredStream; events: NewEvent[]; state: unknown };

export type EventMetadata = {
  channel: string | null;
  operator: string;
  correlationId: string;
  causationId: string;
  traceId: string | null;
  producer: string;
  policyVersion: number;
};

/**
 * Writes that belong to the same command, sent in the append's one statement
 * (each round trip saved is a write syscall on both sides of a 2-core box).
 */
export type AppendOptions = {
  /** Wakes LISTENers (the relay) at commit; null to rely on their polling alone. */
  notifyChannel?: string | null;
  /** Schedules the reservation's expiry. */
  expiry?: { reservationId: string; expiresAt: Date };
  /** The answer to replay for the command's idempotency key (claimed earlier in the transaction). */
  idempotency?: { scope: IdempotencyScope; key: string; response: unknown };
};

export class ConcurrencyError extends Error {
  override name = 'ConcurrencyError';
}

/**
 * Appends events to several streams atomically, each at its expected version
 * (compare-and-set on streams.version; the (stream_id, version) primary key is
 * the second guard), and updates each inline snapshot.
 */
export const appendToStreams = async (
  client: pg.ClientBase,
  tenantId: string,
  appends: StreamAppend[],
  metadata: EventMetadata,
  recordedAt: Date,
  options: AppendOptions = {},
): Promise<void> => {
  if (client.getTransactionStatus() !== 'I')
    return appendInTransaction(client, tenantId, appends, metadata, recordedAt, options);
  // Outside a transaction block the append statement would commit on its own, before the version
  // check below: a ConcurrencyError would leave events behind on the streams that did not move.
  await client.query('begin');
  try {
    await appendInTransaction(client, tenantId, appends, metadata, recordedAt, options);
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  }
};

const appendInTransaction = async (
  client: pg.ClientBase,
  tenantId: string,
  appends: StreamAppend[],
  metadata: EventMetadata,
  recordedAt: Date,
  options: AppendOptions,
): Promise<void> => {
  const writes = appends.filter((a) => a.events.length > 0);
  if (writes.length === 0) return;
  const ev = {
    streamIds: [] as string[],
    versions: [] as number[],
    ids: [] as string[],
    types: [] as string[],
    schemas: [] as number[],
    data: [] as string[],
    occurred: [] as Date[],
  };
  const st = { streamIds: [] as string[], expected: [] as number[], next: [] as number[], states: [] as string[] };
  for (const a of writes) {
    a.events.forEach((e, i) => {
      ev.streamIds.push(a.stream.streamId);
      ev.versions.push(a.stream.version + i + 1);
      ev.ids.push(e.eventId);
      ev.types.push(e.eventType);
      ev.schemas.push(e.schemaVersion);
      ev.data.push(JSON.stringify(e.data));
      ev.occurred.push(e.occurredAt);
    });
    st.streamIds.push(a.stream.streamId);
    st.expected.push(a.stream.version);
    st.next.push(a.stream.version + a.events.length);
    st.states.push(JSON.stringify(a.state));
  }
  const { rows } = await client.query<{ updated: string }>({
    name: 'sm_append',
    text: `with appended as (
             insert into events (stream_id, version, tenant_id, event_id, event_type, schema_version, data, metadata, occurred_at, recorded_at)
             select u.stream_id, u.version, $1, u.event_id, u.event_type, u.schema_version, u.data, $8, u.occurred_at, $9
             from unnest($2::bigint[], $3::int[], $4::uuid[], $5::text[], $6::int[], $7::jsonb[], $10::timestamptz[])
                  as u(stream_id, version, event_id, event_type, schema_version, data, occurred_at)
             returning 1
           ), moved as (
             update streams s
             set version = u.next, state = u.state, updated_at = $9, created_at = coalesce(s.created_at, $9)
             from unnest($11::bigint[], $12::int[], $13::int[], $14::jsonb[]) as u(stream_id, expected, next, state)
             where s.stream_id = u.stream_id and s.version = u.expected
             returning 1
           ), due as (
             insert into reservation_expiry (tenant_id, reservation_id, expires_at)
             select $1, $16, $17 where $16::text is not null
           ), answered as (
             update idempotency_keys set response = $20 where tenant_id = $1 and scope = $18 and key = $19
           )
           select (select count(*) from moved) as updated, (select count(*) from appended) as inserted,
                  case when $15::text is not null then pg_notify($15, '') end as notified`,
    values: [
      tenantId,
      ev.streamIds,
      ev.versions,
      ev.ids,
      ev.types,
      ev.schemas,
      ev.data,
      JSON.stringify(metadata),
      recordedAt,
      ev.occurred,
      st.streamIds,
      st.expected,
      st.next,
      st.states,
      options.notifyChannel ?? null,
      options.expiry?.reservationId ?? null,
      options.expiry?.expiresAt ?? null,
      options.idempotency?.scope ?? null,
      options.idempotency?.key ?? null,
      options.idempotency === undefined ? null : JSON.stringify(options.idempotency.response),
    ],
  });
  if (Number(rows[0]?.updated) !== writes.length) {
    throw new ConcurrencyError(
      `a stream moved past its expected version (${rows[0]?.updated}/${writes.length} updated)`,
    );
  }
};

export type StockItemRow = { version: number; state: unknown; updatedAt: Date | null } | null;

/**
 * One answer per requested (location, SKU), in request order, unknown keys as
 * null, plus the instant the read reflects.
 */
export const readStockItems = async (
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  keys: { locationId: string; sku: string }[],
): Promise<{ items: StockItemRow[]; readAt: Date }> => {
  const { rows } = await db.query<{ version: number | null; state: unknown; updated_at: Date | null; read_at: Date }>({
    name: 'sm_stock_read',
    text: `select s.version, s.state, s.updated_at, statement_timestamp() as read_at
           from unnest($2::text[], $3::text[]) with ordinality as k(location_id, sku, n)
           left join streams s
             on s.tenant_id = $1 and s.kind = 'stock_item' and s.reservation_id = ''
            and s.location_id = k.location_id and s.sku = k.sku
           order by k.n`,
    values: [tenantId, keys.map((k) => k.locationId), keys.map((k) => k.sku)],
  });
  return {
    items: rows.map((r) =>
      r.version === null || r.version === 0 ? null : { version: r.version, state: r.state, updatedAt: r.updated_at },
    ),
    readAt: rows[0]?.read_at ?? new Date(),
  };
};
