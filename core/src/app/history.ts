// Audit trail and time travel: who moved what, when, through which channel and why; and the exact
// levels at any past instant, by recorded time (what the ledger knew) or occurred time (as it happened).
import { CHANNELS } from '../domain/shared.js';
import { deltaOf } from '../domain/stock/stockItem.js';
import { applyDelta, zeroLevels } from '../domain/stock/levels.js';
import { parseWireEventType } from '../../../contracts/eventTypes.js';
import { backdatedAfter, itemsAt, levelsRecordedAt, listMovements } from '../store/history.js';
import { AppError } from '../../../platform/errors.js';
import { expandRegions, isRegion, stockLocationsAt, sumRegions } from './regions.js';
import { Checker, LIMITS } from './validation.js';
import { stockLevelView } from './views.js';
import type pg from 'pg';
import type { Channel } from '../domain/shared.js';
import type { Levels } from '../domain/stock/levels.js';
import type { StockItemEvent } from '../domain/stock/stockItem.js';
import type { Cursor, MovementRow } from '../store/history.js';
import type { Catalog } from './catalog.js';
import type { Caller } from './caller.js';
import type { PolicySource } from '../store/policies.js';
import type { TenantPolicy } from '../../../contracts/policy.js';
import type { StockKeyInput } from './validation.js';
import type { StockLevelView } from './views.js';

export type MovementsQuery = {
  sku: string;
  locationId: string;
  channel: Channel | null;
  operator: string;
  /** Microseconds since the epoch; recorded at or after `fromUs` and before `toUs`. */
  fromUs: number | null;
  toUs: number | null;
  pageSize: number;
  pageToken: string;
};

export type MovementView = {
  eventId: string;
  eventType: string;
  sku: string;
  locationId: string;
  quantity: number;
  unit: string;
  unitQuantity: number;
  channel: Channel | null;
  operator: string;
  correlationId: string;
  causationId: string;
  reason: string;
  reference: string;
  occurredUs: number;
  recordedUs: number;
  streamVersion: number;
  levelsAfter: StockLevelView;
};

export type TimeBasis = 'RECORDED' | 'OCCURRED';

export type StockAtQuery = { keys: StockKeyInput[]; locationId: string; atUs: number | null; basis: TimeBasis };

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const encodeCursor = (c: Cursor): string =>
  Buffer.from(JSON.stringify({ r: c.recordedUs, p: c.position })).toString('base64url');

const decodeCursor = (token: string): Cursor | null => {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString()) as { r?: unknown; p?: unknown };
    if (!Number.isSafeInteger(v.r) || typeof v.p !== 'string' || !/^\d{1,19}$/.test(v.p)) return null;
    return { recordedUs: v.r as number, position: v.p };
  } catch {
    return null;
  }
};

const isInstant = (us: number) => Number.isSafeInteger(us) && Math.abs(us) < 8.64e18;

const checkMovements = (q: MovementsQuery): Cursor | null => {
  const c = new Checker();
  if (q.sku !== '') c.key('sku', q.sku);
  if (q.locationId !== '') c.key('location_id', q.locationId);
  c.text('operator', q.operator);
  if (!(Number.isSafeInteger(q.pageSize) && q.pageSize >= 0 && q.pageSize <= 500))
    c.add('page_size', 'between 1 and 500 (0 = 100)');
  if (q.fromUs !== null && !isInstant(q.fromUs)) c.add('from', 'not a valid instant');
  if (q.toUs !== null && !isInstant(q.toUs)) c.add('to', 'not a valid instant');
  if (q.fromUs !== null && q.toUs !== null && q.toUs <= q.fromUs) c.add('to', 'must be later than from');
  const after = q.pageToken === '' ? null : decodeCursor(q.pageToken);
  if (q.pageToken !== '' && after === null)
    c.add('page_token', 'not a token this service issued; send the next_page_token of the previous page');
  c.done();
  return after;
};

const checkStockAt = (q: StockAtQuery, nowUs: number): number => {
  const c = new Checker();
  if (q.keys.length === 0 && q.locationId === '') c.add('keys', 'send keys (1..1000) or a location_id');
  if (q.keys.length > 0 && q.locationId !== '') c.add('location_id', 'send either keys or a location_id, not both');
  if (q.keys.length > LIMITS.maxQueryKeys) c.add('keys', `at most ${LIMITS.maxQueryKeys} keys`);
  q.keys.forEach((k, i) => {
    c.key(`keys[${i}].sku`, k.sku);
    c.key(`keys[${i}].location_id`, k.locationId);
  });
  if (q.keys.length === 0 && q.locationId !== '') c.key('location_id', q.locationId);
  if (q.atUs === null) c.add('at', 'required: the instant to rebuild the levels at');
  else if (!isInstant(q.atUs)) c.add('at', 'not a valid instant');
  else if (q.atUs > nowUs) c.add('at', 'must not be in the future; the ledger does not know it yet');
  c.done();
  return q.atUs as number;
};

const tooMany = (n: number, field: string) =>
  new AppError('INVALID_ARGUMENT', `the request covers ${n} stock items; at most ${LIMITS.maxExpandedKeys} per call`, {
    reason: 'INVALID_ARGUMENT',
    violations: [
      {
        field,
        description: `covers at most ${LIMITS.maxExpandedKeys} stock items per call; send keys or a smaller location`,
      },
    ],
  });

/** Levels from a stored `levelsAfter`, or null when the item had not moved yet. */
const levelsOf = (v: unknown): Levels | null => (v === null || v === undefined ? null : (v as Levels));

export const createHistory = (deps: {
  pool: pg.Pool;
  policies: PolicySource;
  catalog: Catalog;
  nowUs?: () => number;
}) => {
  const { pool, policies, catalog } = deps;
  const nowUs = deps.nowUs ?? (() => Date.now() * 1000);

  const movementView = (r: MovementRow, policy: TenantPolicy): MovementView => {
    const d = r.data;
    const channel = str(r.metadata.channel);
    const key = { sku: r.sku, locationId: r.locationId };
    return {
      eventId: r.eventId,
      eventType: r.eventType,
      sku: r.sku,
      locationId: r.locationId,
      quantity: Number(d.quantity ?? 0),
      unit: str(d.unit) ?? '',
      unitQuantity: typeof d.unitQuantity === 'number' ? d.unitQuantity : 0,
      channel: (CHANNELS as readonly string[]).includes(channel ?? '') ? (channel as Channel) : null,
      operator: str(r.metadata.operator) ?? '',
      correlationId: str(r.metadata.correlationId) ?? '',
      causationId: str(r.metadata.causationId) ?? '',
      reason: str(d.reason) ?? str(d.kind) ?? '',
      reference: str(d.reference) ?? str(d.shipmentRef) ?? str(d.reservationId) ?? str(d.transferId) ?? '',
      occurredUs: r.occurredUs,
      recordedUs: r.recordedUs,
      streamVersion: r.version,
      levelsAfter: stockLevelView(key, levelsOf(d.levelsAfter), r.version, new Date(r.recordedUs / 1000), policy),
    };
  };

  /** One page of movements, newest first; a region's location_id covers every location below it. */
  const movements = async (caller: Caller, q: MovementsQuery): Promise<{ movements: MovementView[]; next: string }> => {
    const after = checkMovements(q);
    const limit = q.pageSize === 0 ? 100 : q.pageSize;
    let locationIds: string[] | null = null;
    if (q.locationId !== '') {
      const tree = await catalog.treeForRead(caller.tenantId).catch(() => null);
      locationIds = stockLocationsAt(tree, q.locationId);
    }
    const { policy } = await policies.get(caller.tenantId, 'read');
    const rows = await listMovements(
      pool,
      caller.tenantId,
      {
        sku: q.sku === '' ? null : q.sku,
        locationIds,
        channel: q.channel,
        operator: q.operator === '' ? null : q.operator,
        fromUs: q.fromUs,
        toUs: q.toUs,
        after,
      },
      limit + 1,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const next =
      rows.length > limit && last !== undefined
        ? encodeCursor({ recordedUs: last.recordedUs, position: last.position })
        : '';
    return { movements: page.map((r) => movementView(r, policy)), next };
  };

  /** Per stock item: levels and version at the instant, by the basis asked for. */
  const itemLevels = async (
    caller: Caller,
    keys: StockKeyInput[],
    atUs: number,
    basis: TimeBasis,
  ): Promise<{ levels: Levels | null; version: number }[]> => {
    const rows = await levelsRecordedAt(pool, caller.tenantId, keys, atUs);
    const out = rows.map((r) => ({ levels: levelsOf(r.levels), version: r.version }));
    if (basis === 'RECORDED') return out;
    const streams = rows.flatMap((r, i) => (r.streamId === null ? [] : [[r.streamId, i] as const]));
    const indexOf = new Map(streams);
    for (const late of await backdatedAfter(
      pool,
      streams.map(([id]) => id),
      atUs,
    )) {
      const i = indexOf.get(late.streamId) as number;
      const item = out[i] as (typeof out)[number];
      const event = { type: parseWireEventType(late.eventType)?.domainType, data: late.data } as StockItemEvent;
      item.levels = applyDelta(item.levels ?? zeroLevels(), deltaOf(event));
      // The newest event counted: the answer moves whenever a late correction reaches this instant.
      item.version = Math.max(item.version, late.version);
    }
    return out;
  };

  /**
   * The levels at `at`: per key (a region sums its locations), or every item at a location (a
   * region answers one aggregated level per SKU). Unknown keys answer zeros, version 0.
   */
  const stockAt = async (caller: Caller, q: StockAtQuery): Promise<StockLevelView[]> => {
    const atUs = checkStockAt(q, nowUs());
    const tree = await catalog.treeForRead(caller.tenantId).catch(() => null);
    const { policy } = await policies.get(caller.tenantId, 'read');
    const at = new Date(Math.floor(atUs / 1000));
    let keys = q.keys;
    let groups: StockKeyInput[][];
    let coverage: number | null = null;
    if (keys.length > 0) {
      groups = expandRegions(tree, keys);
    } else {
      const region = isRegion(tree, q.locationId);
      const locations = stockLocationsAt(tree, q.locationId);
      const items = await itemsAt(pool, caller.tenantId, locations, atUs, LIMITS.maxExpandedKeys + 1);
      if (items.length > LIMITS.maxExpandedKeys) throw tooMany(items.length, 'location_id');
      if (!region) {
        keys = items;
        groups = items.map((i) => [i]);
      } else {
        // Locations where a SKU never moved add zeros: leave them out of the reads, not out of the count.
        const bySku = new Map<string, StockKeyInput[]>();
        for (const i of items) bySku.set(i.sku, [...(bySku.get(i.sku) ?? []), i]);
        keys = [...bySku.keys()].map((sku) => ({ sku, locationId: q.locationId }));
        groups = [...bySku.values()];
        coverage = locations.length;
      }
    }
    const flat = groups.flat();
    if (flat.length > LIMITS.maxExpandedKeys) throw tooMany(flat.length, 'keys');
    const levels = flat.length === 0 ? [] : await itemLevels(caller, flat, atUs, q.basis);
    const views = flat.map((k, i) => stockLevelView(k, levels[i]?.levels ?? null, levels[i]?.version ?? 0, at, policy));
    const answers = sumRegions(keys, groups, views, (k) => coverage !== null || isRegion(tree, k.locationId), policy);
    // A sum is as of the instant asked for; over a whole region, every location counts, moved or not.
    return answers.map((v) =>
      v.aggregated === true ? { ...v, asOf: at.toISOString(), locationCount: coverage ?? v.locationCount ?? 0 } : v,
    );
  };

  return { movements, stockAt };
};

export type History = ReturnType<typeof createHistory>;
