// The ledger read for audit and time travel. Instants are microseconds since the epoch
// (what timestamptz holds): a JS Date would drop the last three digits, and a cursor or an
// `at` taken from a movement would then miss rows that share its millisecond.
import type pg from 'pg';

export type Cursor = { recordedUs: number; position: string };

export type MovementFilter = {
  sku: string | null;
  /** null = every location; otherwise these exact locations (a region already expanded). */
  locationIds: string[] | null;
  channel: string | null;
  operator: string | null;
  fromUs: number | null;
  toUs: number | null;
  after: Cursor | null;
};

export type MovementRow = {
  eventId: string;
  eventType: string;
  sku: string;
  locationId: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  occurredUs: number;
  recordedUs: number;
  version: number;
  position: string;
};

type Row = {
  event_id: string;
  event_type: string;
  sku: string;
  location_id: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  occurred_us: string;
  recorded_us: string;
  version: number;
  global_position: string;
};

const US = (param: string) => `(timestamptz 'epoch' + ${param}::bigint * interval '1 microsecond')`;
const usOf = (column: string) => `(extract(epoch from ${column}) * 1000000)::bigint::text`;

const COLUMNS = `e.event_id, e.event_type, s.sku, s.location_id, e.data, e.metadata, e.version, e.global_position, e.recorded_at,
  ${usOf('e.occurred_at')} as occurred_us, ${usOf('e.recorded_at')} as recorded_us`;

const toMovement = (r: Row): MovementRow => ({
  eventId: r.event_id,
  eventType: r.event_type,
  sku: r.sku,
  locationId: r.location_id,
  data: r.data,
  metadata: r.metadata,
  occurredUs: Number(r.occurred_us),
  recordedUs: Number(r.recorded_us),
  version: r.version,
  position: r.global_position,
});

/**
 * Stock movements newest first (recorded_at desc, global_position desc), at most `limit`.
 * The SQL is built per combination of filters (each its own named statement), so every shape gets
 * a plan that uses its index instead of one generic plan full of `$n is null or ...`. With a SKU or
 * locations, each matching stream is read backwards on events_stream_recorded (at most one page
 * each) and the heads merged; otherwise events_tenant_recorded is walked backwards from the cursor.
 */
export const listMovements = async (
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  f: MovementFilter,
  limit: number,
): Promise<MovementRow[]> => {
  const values: unknown[] = [tenantId, limit];
  const param = (v: unknown) => `$${values.push(v)}`;
  const eventConds: string[] = [];
  const shape: string[] = [];
  const when = (on: boolean, flag: string, cond: () => string) => {
    if (!on) return;
    eventConds.push(cond());
    shape.push(flag);
  };
  when(f.channel !== null, 'c', () => `e.metadata->>'channel' = ${param(f.channel)}`);
  when(f.operator !== null, 'o', () => `e.metadata->>'operator' = ${param(f.operator)}`);
  when(f.fromUs !== null, 'f', () => `e.recorded_at >= ${US(param(f.fromUs))}`);
  when(f.toUs !== null, 't', () => `e.recorded_at < ${US(param(f.toUs))}`);
  if (f.after !== null) {
    const at = US(param(f.after.recordedUs));
    // The first condition is the one the index can seek on; the row comparison breaks ties.
    eventConds.push(
      `e.recorded_at <= ${at}`,
      `(e.recorded_at, e.global_position) < (${at}, ${param(f.after.position)}::bigint)`,
    );
    shape.push('a');
  }
  const streamConds = [`s.tenant_id = $1`, `s.kind = 'stock_item'`];
  if (f.sku !== null) streamConds.push(`s.sku = ${param(f.sku)}`);
  if (f.locationIds !== null) {
    streamConds.push(`s.location_id = any(${param(f.locationIds)}::text[])`);
    shape.push('l');
  }
  const where = (conds: string[]) => (conds.length === 0 ? '' : `and ${conds.join(' and ')}`);
  const order = 'order by e.recorded_at desc, e.global_position desc';
  const perStream = f.sku !== null || f.locationIds !== null;
  const text = perStream
    ? `select x.* from streams s
         cross join lateral (
           select ${COLUMNS} from events e where e.stream_id = s.stream_id ${where(eventConds)} ${order} limit $2
         ) x
         where ${streamConds.join(' and ')}
         order by x.recorded_at desc, x.global_position desc limit $2`
    : `select ${COLUMNS} from events e join streams s on s.stream_id = e.stream_id and ${streamConds.join(' and ')}
         where e.tenant_id = $1 ${where(eventConds)} ${order} limit $2`;
  const { rows } = await db.query<Row>({
    name: `sm_history_movements_${perStream ? 's' : 't'}${f.sku === null ? '' : 'k'}${shape.join('')}`,
    text,
    values,
  });
  return rows.map(toMovement);
};

export type StockAtRow = {
  /** null when the stream does not exist (never moved). */
  streamId: string | null;
  /** The stream's version at the instant (0 = no event yet). */
  version: number;
  levels: unknown;
};

/**
 * Per requested (location, SKU), in request order: the `levelsAfter` and version of the last event
 * recorded at or before `atUs`; one backward seek on events_stream_recorded per stream, however
 * long it is. Versions grow with recorded_at on a stream (the command's clock is never earlier than
 * the stream's last event), so the version breaks ties between events of one command.
 */
export const levelsRecordedAt = async (
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  keys: { locationId: string; sku: string }[],
  atUs: number,
): Promise<StockAtRow[]> => {
  const { rows } = await db.query<{ stream_id: string | null; version: number | null; levels: unknown }>({
    name: 'sm_history_levels_at',
    text: `select s.stream_id::text, e.version, e.data->'levelsAfter' as levels
           from unnest($2::text[], $3::text[]) with ordinality as k(location_id, sku, n)
           left join streams s
             on s.tenant_id = $1 and s.kind = 'stock_item' and s.reservation_id = ''
            and s.location_id = k.location_id and s.sku = k.sku
           left join lateral (
             select e.version, e.data from events e
             where e.stream_id = s.stream_id and e.recorded_at <= ${US('$4')}
             order by e.recorded_at desc, e.version desc limit 1
           ) e on true
           order by k.n`,
    values: [tenantId, keys.map((k) => k.locationId), keys.map((k) => k.sku), atUs],
  });
  return rows.map((r) => ({ streamId: r.stream_id, version: r.version ?? 0, levels: r.levels }));
};

export type BackdatedRow = { streamId: string; version: number; eventType: string; data: unknown };

/**
 * Events recorded after `atUs` that occurred at or before it (back-dated movements), per stream in
 * version order. `occurred_at < recorded_at` holds for every one of them and lets the planner use
 * the partial index events_backdated, which holds only back-dated events.
 */
export const backdatedAfter = async (
  db: pg.Pool | pg.ClientBase,
  streamIds: string[],
  atUs: number,
): Promise<BackdatedRow[]> => {
  if (streamIds.length === 0) return [];
  const { rows } = await db.query<{ stream_id: string; version: number; event_type: string; data: unknown }>({
    name: 'sm_history_backdated',
    text: `select e.stream_id::text, e.version, e.event_type, e.data from events e
           where e.stream_id = any($1::bigint[]) and e.occurred_at < e.recorded_at
             and e.occurred_at <= ${US('$2')} and e.recorded_at > ${US('$2')}
           order by e.stream_id, e.version`,
    values: [streamIds, atUs],
  });
  return rows.map((r) => ({ streamId: r.stream_id, version: r.version, eventType: r.event_type, data: r.data }));
};

/** The SKUs with a stock item at any of these locations whose first event was recorded at or before `atUs`. */
export const itemsAt = async (
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  locationIds: string[],
  atUs: number,
  limit: number,
): Promise<{ locationId: string; sku: string }[]> => {
  const { rows } = await db.query<{ location_id: string; sku: string }>({
    name: 'sm_history_items_at',
    text: `select location_id, sku from streams
           where tenant_id = $1 and kind = 'stock_item' and location_id = any($2::text[]) and reservation_id = ''
             and created_at <= ${US('$3')}
           order by sku, location_id limit $4`,
    values: [tenantId, locationIds, atUs, limit],
  });
  return rows.map((r) => ({ locationId: r.location_id, sku: r.sku }));
};
