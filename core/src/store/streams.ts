// Reading streams: the inline snapshot row of each, locked for a command or read as it is.
// Locks are taken in one sorted statement, so concurrent commands queue instead of failing and
// multi-line commands never deadlock.
import { keyArrays, reservationStreamKey, stockItemStreamKey, streamKeyId } from './streamKeys.js';
import type pg from 'pg';
import type { StreamKey } from './streamKeys.js';

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
