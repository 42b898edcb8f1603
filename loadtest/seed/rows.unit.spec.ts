import { describe, expect, it } from 'vitest';
import type * as stock from '../../core/src/domain/stock/stockItem.js';
import { eventIdFor } from '../../platform/ids.js';
import { DEFAULTS, locationTree, storeAssortment, storeCount, storeId, volume } from './layout.js';
import { locationStreams } from './load.js';
import { copyField, eventLines, receipt, reservationHistory, streamLine } from './rows.js';
import type { SeedOptions } from './layout.js';
import type { SeedStream } from './rows.js';

const T = new Date('2026-11-01T00:00:00.000Z');
const later = (h: number) => new Date(T.getTime() + h * 3_600_000);
const levelsOf = (s: SeedStream) => (s.state as stock.StockItem).levels;

describe('seeded rows are the rows the core writes', () => {
  it('a receipt is one StockReceived at version 1 whose levels_after is the snapshot', () => {
    const item = receipt('load-1', 'corr', 'W1', 'SKU-7', 40, T);
    expect(item.events).toHaveLength(1);
    const [e] = item.events;
    expect(e?.eventType).toBe('stockmind.stock.stock_received.v1');
    expect(e?.eventId).toBe(eventIdFor('load-1', 'receive', 'seed-rcv-W1-SKU-7', 0, 0));
    expect((e?.data as { levelsAfter: unknown }).levelsAfter).toEqual(levelsOf(item));
    expect(levelsOf(item)).toMatchObject({ onHand: 40, reserved: 0, committed: 0 });
    expect(e?.metadata).toMatchObject({
      channel: null,
      causationId: 'seed-rcv-W1-SKU-7',
      producer: 'stockmind-seed',
      policyVersion: 0,
    });
  });

  it('a completed web sale leaves one unit fewer on hand, nothing held, and levels_after on every event', () => {
    const item = receipt('load-1', 'c', 'W1', 'SKU-0', 10, T);
    const res = reservationHistory('load-1', 'c', 'seed-web-SKU-0', 'ECOMMERCE', item, 1, later(1), [
      { type: 'confirm', orderRef: 'O', at: later(1.1) },
      { type: 'fulfil', shipmentRef: 'S', at: later(3) },
    ]);
    expect(item.events.map((e) => e.eventType)).toEqual([
      'stockmind.stock.stock_received.v1',
      'stockmind.stock.stock_reserved.v1',
      'stockmind.stock.reserved_stock_committed.v1',
      'stockmind.stock.stock_shipped.v1',
    ]);
    expect(levelsOf(item)).toMatchObject({ onHand: 9, reserved: 0, committed: 0 });
    expect((item.events[3]?.data as { levelsAfter: unknown }).levelsAfter).toEqual(levelsOf(item));
    expect(res.state).toMatchObject({ status: 'FULFILLED', channel: 'ECOMMERCE', orderRef: 'O', shipmentRef: 'S' });
    expect(res.events.map((e) => e.eventType)).toEqual([
      'stockmind.reservations.reservation_placed.v1',
      'stockmind.reservations.reservation_confirmed.v1',
      'stockmind.reservations.reservation_fulfilled.v1',
    ]);
    // The core derives ids from (tenant, command, reservation id, stream index, event index).
    expect(res.events[0]?.eventId).toBe(eventIdFor('load-1', 'reserve', 'seed-web-SKU-0', 0, 0));
    expect(item.events[1]?.eventId).toBe(eventIdFor('load-1', 'reserve', 'seed-web-SKU-0', 1, 0));
    expect(item.events[3]?.eventId).toBe(eventIdFor('load-1', 'fulfil', 'seed-web-SKU-0', 1, 0));
  });

  it('goes through the real rules: a web hold confirmed after its 15 min TTL is refused', () => {
    const item = receipt('load-1', 'c', 'W1', 'SKU-0', 10, T);
    expect(() =>
      reservationHistory('load-1', 'c', 'r', 'ECOMMERCE', item, 1, later(1), [
        { type: 'confirm', orderRef: 'O', at: later(2) },
      ]),
    ).toThrow(/RESERVATION_EXPIRED/);
  });

  it('a cancelled B2B hold gives its units back', () => {
    const item = receipt('load-1', 'c', 'W2', 'SKU-0', 10, T);
    const res = reservationHistory('load-1', 'c', 'seed-b2b-SKU-0', 'B2B', item, 5, later(1), [
      { type: 'release', reason: 'customer cancelled', at: later(2) },
    ]);
    expect(levelsOf(item)).toMatchObject({ onHand: 10, reserved: 0 });
    expect(res.state).toMatchObject({ status: 'RELEASED', releaseReason: 'customer cancelled' });
    // B2B holds last 48 h by default.
    expect((res.state as { expiresAt: string }).expiresAt).toBe(
      new Date(later(1).getTime() + 48 * 3_600_000).toISOString(),
    );
  });

  it('writes COPY text lines: version = event count, times of the first and last event, fields escaped', () => {
    const item = receipt('load-1', 'c', 'W1', 'a\tb\\c', 3, T);
    const cols = streamLine('load-1', item).slice(0, -1).split('\t');
    expect(cols).toHaveLength(9);
    expect(cols.slice(0, 6)).toEqual(['load-1', 'stock_item', 'W1', 'a\\tb\\\\c', '', '1']);
    expect(cols[7]).toBe(T.toISOString());
    const ev = eventLines('load-1', '42', item).split('\n').filter(Boolean);
    expect(ev).toHaveLength(1);
    expect(ev[0]?.split('\t').slice(0, 3)).toEqual(['42', '1', 'load-1']);
    expect(copyField('x\ny\rz')).toBe('x\\ny\\rz');
  });
});

describe('dataset layout', () => {
  const o: SeedOptions = { ...DEFAULTS, tenants: 1, locations: 8, skus: 1000, storeSkus: 300, historyEvery: 100 };

  it('puts 3 warehouses and the rest as stores under regions', () => {
    const tree = locationTree({ ...DEFAULTS });
    expect(tree.filter((l) => l.kind === 'WAREHOUSE')).toHaveLength(3);
    expect(tree.filter((l) => l.kind === 'STORE')).toHaveLength(297);
    const regions = new Set(tree.filter((l) => l.kind === 'REGION').map((l) => l.id));
    expect(tree.filter((l) => l.kind !== 'REGION').every((l) => regions.has(l.parentId))).toBe(true);
    expect(storeId({ ...DEFAULTS }, 1)).toBe('S001');
  });

  it('gives each store its own slice of the catalogue, wrapping at the end', () => {
    expect(storeCount(o)).toBe(5);
    expect(storeAssortment(o, 1)).toEqual({ first: 0, count: 300 });
    expect(storeAssortment(o, 4)).toEqual({ first: 900, count: 300 });
  });

  it('generates exactly the planned streams and events', () => {
    const correlation = 'c';
    let streams = 0;
    let events = 0;
    const count = (skus: Iterable<number>, warehouse: number) => {
      for (const batch of locationStreams(o, 'load-1', correlation, T, {
        id: warehouse > 0 ? `W${warehouse}` : 'S001',
        skus,
        quantity: () => 50,
        warehouse,
      })) {
        streams += batch.length;
        events += batch.reduce((a, s) => a + s.events.length, 0);
      }
    };
    const all = () => Array.from({ length: o.skus }, (_, i) => i);
    for (const w of [1, 2, 3]) count(all(), w);
    for (let k = 1; k <= storeCount(o); k++)
      count(
        Array.from({ length: o.storeSkus }, (_, j) => j),
        0,
      );
    const v = volume(o);
    // + HOT-1 at W1
    expect(streams + 1).toBe(v.stockItems + v.reservations);
    expect(events + 1).toBe(v.events);
  });
});
