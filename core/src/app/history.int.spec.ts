// Audit trail and time travel through the use cases, on a real Postgres: filters, order and
// pagination of ListMovements; GetStockAt by keys, location and region, by recorded and
// occurred time; and, for random histories, the state at t is the fold of the events recorded up to t.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evolve, initialState } from '../domain/stock/stockItem.js';
import { parseWireEventType } from '../../../contracts/eventTypes.js';
import { accepted, caller, receiveInput, rejection, reserveInput, startApp } from '../../../test/support/app.js';
import { sleep } from '../../../test/support/wait.js';
import { registerCatalog } from '../../../test/support/catalog.js';
import type { StockItemEvent } from '../domain/stock/stockItem.js';
import type { AppHarness } from '../../../test/support/app.js';
import type { MovementsQuery, MovementView, StockAtQuery } from './history.js';
import type { Outcome } from './outcome.js';

const T = 'history';
const alice = { ...caller(T), operator: 'alice' };
const bob = { ...caller(T), operator: 'bob' };

let app: AppHarness;

const query = (q: Partial<MovementsQuery> = {}): MovementsQuery => ({
  sku: '',
  locationId: '',
  channel: null,
  operator: '',
  fromUs: null,
  toUs: null,
  pageSize: 0,
  pageToken: '',
  ...q,
});
const list = async (q: Partial<MovementsQuery> = {}) =>
  (await app.inventory.history.movements(alice, query(q))).movements;
const stockAt = (q: Partial<StockAtQuery> & { atUs: number }) =>
  app.inventory.history.stockAt(alice, { keys: [], locationId: '', basis: 'RECORDED', ...q });
const sale = (
  movementId: string,
  sku: string,
  locationId: string,
  quantity: number,
  occurredAt: Date | null = null,
  who = alice,
) =>
  app.inventory.sale(who, {
    movementId,
    sku,
    locationId,
    quantity,
    unit: '',
    channel: 'POS',
    reference: `ticket-${movementId}`,
    occurredAt,
  });
const sold = async (outcome: Promise<Outcome<unknown>>) => {
  const o = await outcome;
  if (!o.ok) throw new Error(`expected the sale to pass, got ${JSON.stringify(o.refusal)}`);
};

/** The movements of the shared history, oldest first, by movement id. */
const history: Record<string, MovementView> = {};

beforeAll(async () => {
  app = await startApp('app_history');
  await registerCatalog(app.inventory, T, { skus: ['SKU-A', 'SKU-B', 'SKU-C'], locations: ['W1'] });
  await app.inventory.catalog.putLocation(alice, {
    locationId: 'R-NORTH',
    name: 'North',
    kind: 'REGION',
    parentId: '',
  });
  for (const s of ['S1', 'S2', 'S3'])
    await app.inventory.catalog.putLocation(alice, {
      locationId: s,
      name: s,
      kind: 'STORE',
      parentId: s === 'S3' ? '' : 'R-NORTH',
    });

  await app.inventory.receive(alice, receiveInput('rcv-w1-a', 'SKU-A', 'W1', 10));
  await app.inventory.receive(alice, receiveInput('rcv-s1-a', 'SKU-A', 'S1', 5));
  await app.inventory.receive(bob, receiveInput('rcv-s2-a', 'SKU-A', 'S2', 7));
  await sold(sale('sale-s1-a', 'SKU-A', 'S1', 2, null, bob));
  accepted(await app.inventory.reserve(alice, reserveInput('res-w1-a', [['SKU-A', 'W1', 3]])));
  await app.inventory.receive(alice, receiveInput('rcv-w1-b', 'SKU-B', 'W1', 4));
  for (const m of (await list()).reverse()) history[m.causationId] = m;
});
afterAll(async () => {
  await app?.close();
});

const at = (id: string): number => {
  const m = history[id];
  if (m === undefined) throw new Error(`no movement ${id}`);
  return m.recordedUs;
};
const ids = (ms: MovementView[]) => ms.map((m) => m.causationId);
const NEWEST_FIRST = ['rcv-w1-b', 'res-w1-a', 'sale-s1-a', 'rcv-s2-a', 'rcv-s1-a', 'rcv-w1-a'];

describe('ListMovements', () => {
  it('lists every stock movement newest first, with who, channel, why and the levels after it', async () => {
    const all = await list();
    expect(ids(all)).toEqual(NEWEST_FIRST);
    expect(all.map((m) => m.recordedUs)).toEqual([...all.map((m) => m.recordedUs)].sort((a, b) => b - a));
    expect(history['sale-s1-a']).toMatchObject({
      eventType: 'stockmind.stock.stock_sold.v1',
      sku: 'SKU-A',
      locationId: 'S1',
      quantity: 2,
      unitQuantity: 2,
      channel: 'POS',
      operator: 'bob',
      reference: 'ticket-sale-s1-a',
      streamVersion: 2,
      levelsAfter: { levels: { onHand: 3 }, available: 3, version: 2 },
    });
    expect(history['res-w1-a']).toMatchObject({
      eventType: 'stockmind.stock.stock_reserved.v1',
      channel: 'ECOMMERCE',
      reference: 'res-w1-a',
      levelsAfter: { available: 7 },
    });
    expect(history['rcv-w1-a']?.correlationId).toBe(alice.correlationId);
  });

  it('filters by SKU, location, region, channel, operator and recorded time range', async () => {
    expect(ids(await list({ sku: 'SKU-B' }))).toEqual(['rcv-w1-b']);
    expect(ids(await list({ locationId: 'W1' }))).toEqual(['rcv-w1-b', 'res-w1-a', 'rcv-w1-a']);
    expect(ids(await list({ locationId: 'R-NORTH' }))).toEqual(['sale-s1-a', 'rcv-s2-a', 'rcv-s1-a']);
    expect(ids(await list({ locationId: 'R-NORTH', sku: 'SKU-A' }))).toEqual(['sale-s1-a', 'rcv-s2-a', 'rcv-s1-a']);
    expect(ids(await list({ sku: 'SKU-A', locationId: 'S2' }))).toEqual(['rcv-s2-a']);
    expect(ids(await list({ channel: 'POS' }))).toEqual(['sale-s1-a']);
    expect(ids(await list({ operator: 'bob' }))).toEqual(['sale-s1-a', 'rcv-s2-a']);
    expect(ids(await list({ fromUs: at('sale-s1-a'), toUs: at('rcv-w1-b') }))).toEqual(['res-w1-a', 'sale-s1-a']);
    expect(ids(await list({ sku: 'SKU-A', fromUs: at('rcv-s1-a'), toUs: at('res-w1-a') }))).toEqual([
      'sale-s1-a',
      'rcv-s2-a',
      'rcv-s1-a',
    ]);
    expect(await list({ locationId: 'S3' })).toEqual([]);
  });

  it('pages through every movement exactly once, in order, with or without filters', async () => {
    for (const [filter, expected] of [
      [{}, NEWEST_FIRST],
      [{ sku: 'SKU-A' }, NEWEST_FIRST.filter((id) => id !== 'rcv-w1-b')],
    ] as const) {
      const seen: string[] = [];
      let pageToken = '';
      let pages = 0;
      do {
        const page = await app.inventory.history.movements(alice, query({ ...filter, pageSize: 2, pageToken }));
        expect(page.movements.length).toBeLessThanOrEqual(2);
        seen.push(...ids(page.movements));
        pageToken = page.next;
        pages++;
      } while (pageToken !== '' && pages < 10);
      expect(seen).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / 2));
    }
  });

  it('answers INVALID_ARGUMENT naming page_token for a token it did not issue, and page_size out of range', async () => {
    for (const pageToken of ['not-a-token', Buffer.from('{"r":"x"}').toString('base64url')]) {
      expect(await rejection(app.inventory.history.movements(alice, query({ pageToken })))).toMatchObject({
        code: 'INVALID_ARGUMENT',
        details: { violations: [expect.objectContaining({ field: 'page_token' })] },
      });
    }
    expect(await rejection(app.inventory.history.movements(alice, query({ pageSize: 501 })))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { violations: [expect.objectContaining({ field: 'page_size' })] },
    });
  });
});

describe('GetStockAt', () => {
  const a = (locationId: string) => ({ sku: 'SKU-A', locationId });

  it('rebuilds the levels and version of each key at several instants', async () => {
    const before = await stockAt({ keys: [a('W1')], atUs: at('rcv-w1-a') - 1 });
    expect(before[0]).toMatchObject({ levels: { onHand: 0 }, version: 0, status: 'OUT_OF_STOCK' });
    const received = await stockAt({ keys: [a('W1'), a('S1')], atUs: at('rcv-w1-a') });
    expect(received.map((l) => [l.levels.onHand, l.version])).toEqual([
      [10, 1],
      [0, 0],
    ]);
    const reserved = await stockAt({ keys: [a('W1'), a('S1')], atUs: at('res-w1-a') });
    expect(reserved[0]).toMatchObject({
      levels: { onHand: 10, reserved: 3 },
      available: 7,
      version: 2,
      asOf: new Date(Math.floor(at('res-w1-a') / 1000)).toISOString(),
    });
    expect(reserved[1]).toMatchObject({ levels: { onHand: 3 }, version: 2 });
  });

  it('sums a region key over every location below it, at the instant', async () => {
    const [early] = await stockAt({ keys: [a('R-NORTH')], atUs: at('rcv-s1-a') });
    expect(early).toMatchObject({ levels: { onHand: 5 }, aggregated: true, locationCount: 2 });
    const [late] = await stockAt({ keys: [a('R-NORTH')], atUs: at('sale-s1-a') });
    expect(late).toMatchObject({ levels: { onHand: 10 }, available: 10, aggregated: true, locationCount: 2 });
  });

  it('lists every item at a location, and one sum per SKU for a region', async () => {
    const w1 = await stockAt({ locationId: 'W1', atUs: at('rcv-w1-b') });
    expect(w1.map((l) => [l.sku, l.levels.onHand, l.version])).toEqual([
      ['SKU-A', 10, 2],
      ['SKU-B', 4, 1],
    ]);
    const w1Earlier = await stockAt({ locationId: 'W1', atUs: at('res-w1-a') });
    expect(w1Earlier.map((l) => l.sku)).toEqual(['SKU-A']);
    const north = await stockAt({ locationId: 'R-NORTH', atUs: at('rcv-w1-b') });
    expect(north).toEqual([
      expect.objectContaining({
        sku: 'SKU-A',
        locationId: 'R-NORTH',
        aggregated: true,
        locationCount: 2,
        levels: expect.objectContaining({ onHand: 10 }),
      }),
    ]);
  });

  it('answers zeros, OUT_OF_STOCK and version 0 for keys it never saw, never NOT_FOUND', async () => {
    const [unknown] = await stockAt({ keys: [{ sku: 'SKU-NEVER', locationId: 'NOWHERE' }], atUs: at('rcv-w1-b') });
    expect(unknown).toMatchObject({
      sku: 'SKU-NEVER',
      locationId: 'NOWHERE',
      levels: { onHand: 0, reserved: 0 },
      available: 0,
      status: 'OUT_OF_STOCK',
      version: 0,
    });
  });

  it('refuses an instant in the future, a missing one, and a request with neither keys nor location', async () => {
    const field = (f: string) => ({
      code: 'INVALID_ARGUMENT',
      details: { violations: expect.arrayContaining([expect.objectContaining({ field: f })]) },
    });
    expect(await rejection(stockAt({ keys: [a('W1')], atUs: (Date.now() + 60_000) * 1000 }))).toMatchObject(
      field('at'),
    );
    expect(
      await rejection(
        app.inventory.history.stockAt(alice, { keys: [a('W1')], locationId: '', atUs: null, basis: 'RECORDED' }),
      ),
    ).toMatchObject(field('at'));
    expect(await rejection(stockAt({ atUs: at('rcv-w1-a') }))).toMatchObject(field('keys'));
  });

  it('counts a back-dated sale at the time it occurred on the occurred basis, and when it was recorded on the recorded basis', async () => {
    const key = { sku: 'SKU-C', locationId: 'S2' };
    await app.inventory.receive(alice, receiveInput('rcv-s2-c', 'SKU-C', 'S2', 8));
    // Three distinct instants (receipt < happened < report < recorded sale): time itself must pass.
    await sleep(20);
    const happened = new Date();
    await sleep(20);
    const reportAt = Date.now() * 1000;
    await sleep(20);
    await sold(sale('late-sale-s2-c', 'SKU-C', 'S2', 3, happened));
    const [late] = await list({ sku: 'SKU-C', channel: 'POS' });
    expect(late).toMatchObject({ occurredUs: happened.getTime() * 1000, streamVersion: 2 });
    expect(late?.recordedUs).toBeGreaterThan(reportAt);

    const levelsAt = async (atUs: number, basis: 'RECORDED' | 'OCCURRED') => {
      const [l] = await stockAt({ keys: [key], atUs, basis });
      return [l?.levels.onHand, l?.version];
    };
    expect(await levelsAt(reportAt, 'RECORDED')).toEqual([8, 1]);
    expect(await levelsAt(reportAt, 'OCCURRED')).toEqual([5, 2]);
    expect(await levelsAt(happened.getTime() * 1000 - 1, 'OCCURRED')).toEqual([8, 1]);
    const [region] = await stockAt({
      keys: [{ sku: 'SKU-C', locationId: 'R-NORTH' }],
      atUs: reportAt,
      basis: 'OCCURRED',
    });
    expect(region?.levels.onHand).toBe(5);
    const now = (late?.recordedUs ?? 0) + 1;
    expect(await levelsAt(now, 'RECORDED')).toEqual(await levelsAt(now, 'OCCURRED'));
  });
});

describe('time travel against the fold', () => {
  type Step = { kind: 'receive' | 'sale' | 'reserve'; quantity: number } | { kind: 'release'; index: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('receive' as const), quantity: fc.integer({ min: 1, max: 20 }) }),
    fc.record({ kind: fc.constant('sale' as const), quantity: fc.integer({ min: 1, max: 12 }) }),
    fc.record({ kind: fc.constant('reserve' as const), quantity: fc.integer({ min: 1, max: 12 }) }),
    fc.record({ kind: fc.constant('release' as const), index: fc.nat() }),
  );

  it('the state at t equals the fold of the events recorded up to t, for random histories', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 10 }), async (steps) => {
        const sku = `SKU-P${run++}`;
        await registerCatalog(app.inventory, T, { skus: [sku], locations: [] });
        const held: string[] = [];
        for (const [i, s] of steps.entries()) {
          const id = `${sku}-${i}`;
          if (s.kind === 'receive') await app.inventory.receive(alice, receiveInput(id, sku, 'W1', s.quantity));
          if (s.kind === 'sale') await sale(id, sku, 'W1', s.quantity);
          if (
            s.kind === 'reserve' &&
            (await app.inventory.reserve(alice, reserveInput(id, [[sku, 'W1', s.quantity]]))).ok
          )
            held.push(id);
          if (s.kind === 'release' && held.length > 0)
            await app.inventory.release(alice, held[s.index % held.length] as string, 'changed mind');
        }
        const { rows } = await app.db.pool.query<{
          event_type: string;
          data: StockItemEvent['data'];
          recorded_us: string;
        }>(
          `select e.event_type, e.data, (extract(epoch from e.recorded_at) * 1000000)::bigint::text as recorded_us
           from events e join streams s using (stream_id)
           where s.tenant_id = $1 and s.kind = 'stock_item' and s.sku = $2 and s.location_id = 'W1' order by e.version`,
          [T, sku],
        );
        const events = rows.map((r) => ({
          recordedUs: Number(r.recorded_us),
          event: { type: parseWireEventType(r.event_type)?.domainType, data: r.data } as StockItemEvent,
        }));
        const instants = [
          ...new Set([0, ...events.flatMap((e) => [e.recordedUs - 1, e.recordedUs]), Date.now() * 1000]),
        ];
        for (const t of instants) {
          const upTo = events.filter((e) => e.recordedUs <= t);
          const [level] = await stockAt({ keys: [{ sku, locationId: 'W1' }], atUs: t });
          expect(level?.levels).toEqual(upTo.map((e) => e.event).reduce(evolve, initialState()).levels);
          expect(level?.version).toBe(upTo.length);
        }
      }),
      { numRuns: 15 },
    );
  });
});
