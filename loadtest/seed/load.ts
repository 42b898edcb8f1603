// Bulk load of one tenant, location by location, in batches: the streams go in
// with one INSERT that returns their generated ids, and their events follow
// with COPY, all in one short transaction per batch.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import copyStreams from 'pg-copy-streams';
import {
  HOT_SKU,
  hasHistory,
  skuId,
  storeAssortment,
  storeCount,
  storeId,
  storeQuantity,
  warehouseId,
  warehouseQuantity,
} from './layout.js';
import { EVENT_COLUMNS, STREAM_COLUMNS, eventLines, receipt, reservationHistory } from './rows.js';
import type pg from 'pg';
import type { SeedOptions } from './layout.js';
import type { SeedStream } from './rows.js';

const BATCH = 2_500;
const DAY = 86_400_000;

const copyIn = async (client: pg.Client, sql: string, text: string): Promise<void> => {
  if (text === '') return;
  await pipeline(Readable.from([text]), client.query(copyStreams.from(sql)));
};

const keyOf = (kind: string, locationId: string, sku: string, reservationId: string) =>
  `${kind}\u0000${locationId}\u0000${sku}\u0000${reservationId}`;

type Prepared = { streams: SeedStream[]; columns: string[][]; eventRest: string[][]; events: number };

/** Everything but the stream ids, built before the transaction opens so it stays as short as the writes. */
const prepare = (tenantId: string, streams: SeedStream[]): Prepared => {
  const columns: string[][] = [[], [], [], [], [], [], [], []];
  for (const s of streams) {
    const first = s.events[0]?.at ?? new Date(0);
    const last = s.events[s.events.length - 1]?.at ?? first;
    [
      s.kind,
      s.locationId,
      s.sku,
      s.reservationId,
      String(s.events.length),
      JSON.stringify(s.state),
      first.toISOString(),
      last.toISOString(),
    ].forEach((v, i) => columns[i]?.push(v));
  }
  const eventRest = streams.map((s) =>
    eventLines(tenantId, '', s)
      .split('\n')
      .filter((l) => l !== ''),
  );
  return { streams, columns, eventRest, events: eventRest.reduce((a, l) => a + l.length, 0) };
};

/**
 * Streams go in with one INSERT … RETURNING (their ids are generated), events
 * with COPY. Reading the ids back with a join instead was planned against the
 * table's stale, empty statistics and rescanned it for every batch.
 */
const writeBatch = async (client: pg.Client, tenantId: string, p: Prepared): Promise<number> => {
  const { rows } = await client.query<{
    stream_id: string;
    kind: string;
    location_id: string;
    sku: string;
    reservation_id: string;
  }>(
    `insert into streams ${STREAM_COLUMNS}
     select $1, u.* from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::jsonb[], $8::timestamptz[], $9::timestamptz[]) as u
     returning stream_id::text as stream_id, kind, location_id, sku, reservation_id`,
    [tenantId, ...p.columns],
  );
  const ids = new Map(rows.map((r) => [keyOf(r.kind, r.location_id, r.sku, r.reservation_id), r.stream_id]));
  let text = '';
  p.streams.forEach((s, i) => {
    const id = ids.get(keyOf(s.kind, s.locationId, s.sku, s.reservationId));
    if (id === undefined)
      throw new Error(`stream ${s.kind} ${s.locationId} ${s.sku} ${s.reservationId} was not written`);
    for (const line of p.eventRest[i] ?? []) text += `${id}${line}\n`;
  });
  await copyIn(client, `copy events ${EVENT_COLUMNS} from stdin`, text);
  return p.events;
};

/** The streams of one location, in batches: receipts, plus the history on every n-th SKU. */
export function* locationStreams(
  o: SeedOptions,
  tenantId: string,
  correlationId: string,
  base: Date,
  location: { id: string; skus: Iterable<number>; quantity: (n: number) => number; warehouse: number },
): Generator<SeedStream[]> {
  let batch: SeedStream[] = [];
  const at = (days: number, n: number) => new Date(base.getTime() + days * DAY + (n % 86_400) * 1000);
  for (const n of location.skus) {
    const sku = skuId(n);
    const item = receipt(tenantId, correlationId, location.id, sku, location.quantity(n), at(0, n));
    batch.push(item);
    if (hasHistory(o, n) && location.warehouse === 1) {
      batch.push(
        reservationHistory(tenantId, correlationId, `seed-web-${sku}`, 'ECOMMERCE', item, 1, at(10, n), [
          { type: 'confirm', orderRef: `SEED-ORDER-${n}`, at: at(10.01, n) },
          { type: 'fulfil', shipmentRef: `SEED-SHIP-${n}`, at: at(11, n) },
        ]),
      );
    }
    if (hasHistory(o, n) && location.warehouse === 2) {
      batch.push(
        reservationHistory(tenantId, correlationId, `seed-b2b-${sku}`, 'B2B', item, 5, at(12, n), [
          { type: 'release', reason: 'customer cancelled', at: at(13, n) },
        ]),
      );
    }
    if (batch.length >= BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

const range = function* (first: number, count: number, modulo: number) {
  for (let j = 0; j < count; j++) yield (first + j) % modulo;
};

export type TenantLoad = { streams: number; events: number };

export const loadTenant = async (
  clients: pg.Client[],
  o: SeedOptions,
  tenantId: string,
  correlationId: string,
  base: Date,
  onLocation: (id: string, done: TenantLoad) => void,
): Promise<TenantLoad> => {
  const total: TenantLoad = { streams: 0, events: 0 };
  const locations = [
    ...Array.from({ length: o.warehouses }, (_, i) => ({
      id: warehouseId(i + 1),
      skus: range(0, o.skus, o.skus),
      quantity: (n: number) => warehouseQuantity(n, i + 1),
      warehouse: i + 1,
    })),
    ...Array.from({ length: storeCount(o) }, (_, i) => {
      const a = storeAssortment(o, i + 1);
      return {
        id: storeId(o, i + 1),
        skus: range(a.first, a.count, o.skus),
        quantity: (n: number) => storeQuantity(n, i + 1),
        warehouse: 0,
      };
    }),
  ];
  const queue = [...locations];
  const loader = async (client: pg.Client) => {
    for (let location = queue.shift(); location !== undefined; location = queue.shift())
      await loadLocation(client, location);
  };
  // One short transaction per batch: an open transaction anywhere in the cluster holds back every
  // relay reading in commit order (pg_snapshot_xmin), so a minutes-long COPY would stall them all.
  const inTransaction = async (client: pg.Client, write: () => Promise<number>, streams: number) => {
    await client.query('begin');
    try {
      const written = await write();
      await client.query('commit');
      total.events += written;
      total.streams += streams;
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    }
  };
  const loadLocation = async (client: pg.Client, location: (typeof locations)[number]) => {
    for (const batch of locationStreams(o, tenantId, correlationId, base, location)) {
      const p = prepare(tenantId, batch);
      await inTransaction(client, () => writeBatch(client, tenantId, p), batch.length);
    }
    if (location.warehouse === 1) {
      const p = prepare(tenantId, [receipt(tenantId, correlationId, location.id, HOT_SKU, o.hotStock, base)]);
      await inTransaction(client, () => writeBatch(client, tenantId, p), 1);
    }
    onLocation(location.id, total);
  };
  await Promise.all(clients.map(loader));
  return total;
};
