// Live stock changes (the WatchStock hub) against a private nats-server, which
// this spec stops and restarts: a watcher receives the changes of its tenant and
// filter; when the broker goes away every open watch ends (WatchStock answers
// UNAVAILABLE / WATCH_INTERRUPTED) and the hub is not ready; once it is back the
// hub is ready again and new watches receive changes; a hub started while NATS
// is down becomes ready once it is up. The app-level watchStock generator, on
// the real hub and the real inventory: the current level first, then ledger
// events; a watcher that falls more than 10,000 changes behind is dropped with
// ABORTED / WATCHER_TOO_SLOW; waiting does not pile up abort listeners.
import { randomUUID } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createStockWatchHub } from '../../core/src/readmodels/stockWatch.js';
import { connectNats } from '../../platform/nats.js';
import { watchStock } from '../../core/src/app/watch.js';
import { AppError } from '../../platform/errors.js';
import { createPolicySource } from '../../core/src/store/policies.js';
import { eventSubject } from '../../contracts/names.js';
import { fromStoredEvent } from '../../contracts/envelope.js';
import { readInCommitOrder, START } from '../../core/src/store/commitOrder.js';
import { caller, receiveInput, rejection, startApp } from '../support/app.js';
import { defined, eventually } from '../support/wait.js';
import { recordingLog } from '../support/log.js';
import { registerCatalog } from '../support/catalog.js';
import { stockEnvelope as envelopeOf, silentLog, testNamespace } from '../support/readside.js';
import { startPrivateNats } from '../support/servers.js';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Envelope } from '../../contracts/envelope.js';
import type { Levels } from '../../core/src/domain/stock/levels.js';
import type { StockChange, StockWatchHub, WatchFilter } from '../../core/src/readmodels/stockWatch.js';
import type { PolicySource } from '../../core/src/store/policies.js';
import type { AppHarness } from '../support/app.js';
import type { ServerProcess } from '../support/servers.js';

const T = 'watch-tenant';
const OTHER = 'other-tenant';
const ns = testNamespace('stockwatch');

let nats: ServerProcess;
let pub: NatsConnection;
let hub: StockWatchHub;
// Debug lines of the shared hub: 'watcher registered' says a watchStock generator is listening.
const hubLog = recordingLog('debug');
let app: AppHarness;
let policies: PolicySource;
const cleanups: (() => void)[] = [];

beforeAll(async () => {
  nats = await startPrivateNats();
  pub = await connectNats(nats.url, 'stock-watch-spec-pub');
  hub = createStockWatchHub(() => connectNats(nats.url, 'stock-watch-spec-hub'), ns, hubLog.log);
  app = await startApp('stock_watch', { poolMax: 4 });
  await registerCatalog(app.inventory, T, { skus: ['SKU-APP'], locations: ['STORE-1'] });
  policies = createPolicySource(app.db.pool);
  expect(await hub.subscribed()).toBe(true);
});

afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

afterAll(async () => {
  await hub?.close();
  await pub?.close().catch(() => undefined);
  await nats?.destroy();
  await app?.close();
});

const levels = (onHand: number, reserved = 0): Levels => ({
  onHand,
  reserved,
  committed: 0,
  inTransit: 0,
  quarantined: 0,
});

/** A stock event envelope as the relay publishes it (only what the hub reads matters). */
const stockEnvelope = (
  tenantId: string,
  locationId: string,
  sku: string,
  version: number,
  after: Levels | undefined,
): Envelope =>
  envelopeOf({
    tenantId,
    locationId,
    sku,
    version,
    payload: after === undefined ? { quantity: 1 } : { quantity: 1, levelsAfter: after },
    producer: 'stock-watch-spec',
  });

const UNREACHABLE = 'NATS unreachable; WatchStock waits for it';
const REGISTERED = 'watcher registered';

const stockSubject = (tenantId: string) => `${ns}.evt.${tenantId}.stock.x`;
const publish = (e: Envelope, subject = stockSubject(e.tenantId)) => pub.publish(subject, JSON.stringify(e));

/** After a restart: the hub's subscription is on the server again and the publishing connection is back too. */
const bothBack = async () => {
  await eventually(async () => expect(await hub.subscribed()).toBe(true), 15_000, 100);
  expect(hub.ready()).toBe(true);
  await eventually(() => pub.flush(), 15_000, 100);
};

type Recorder = { changes: StockChange[]; ended: number; unwatch: () => void };

const record = (tenantId: string, filter: WatchFilter): Recorder => {
  const r: Recorder = { changes: [], ended: 0, unwatch: () => undefined };
  r.unwatch = hub.watch(
    tenantId,
    filter,
    (c) => r.changes.push(c),
    () => r.ended++,
  );
  cleanups.push(r.unwatch);
  return r;
};

/**
 * Publishes one matching change and waits for the recorder to have it: the hub says when its
 * subscription is on the server (subscribed()), so a change published after that reaches every
 * watcher registered before it.
 */
const firstChange = async (
  r: Recorder,
  tenantId: string,
  locationId: string,
  sku: string,
  version: number,
): Promise<StockChange> => {
  publish(stockEnvelope(tenantId, locationId, sku, version, levels(version)));
  await pub.flush();
  return eventually(async () => defined(r.changes[0], 'a change at the watcher'), 5_000);
};

describe('stock watch hub on a private NATS', () => {
  it('delivers a stock change with levelsAfter to the watchers of its tenant and filter, and nothing else', async () => {
    const byKey = record(T, { keys: [{ sku: 'SKU-A', locationId: 'W1' }] });
    const byLocation = record(T, { locationId: 'W1' });
    const otherTenant = record(OTHER, { locationId: 'W1' });

    // None of these may reach byKey.
    publish(stockEnvelope(T, 'W1', 'SKU-B', 1, levels(3))); // another SKU (byLocation gets it)
    publish(stockEnvelope(T, 'W2', 'SKU-A', 1, levels(4))); // another location
    publish(stockEnvelope(OTHER, 'W1', 'SKU-A', 1, levels(5))); // another tenant (otherTenant gets it)
    publish(stockEnvelope(T, 'W1', 'SKU-A', 1, undefined)); // no levelsAfter
    publish({
      ...stockEnvelope(T, 'W1', 'SKU-A', 1, levels(6)),
      stream: { kind: 'reservation', locationId: 'W1', sku: 'SKU-A', reservationId: 'r-1' },
    });
    pub.publish(stockSubject(T), 'not json');
    publish(stockEnvelope(T, 'W1', 'SKU-A', 1, levels(7)), `${ns}.evt.${T}.reservations.x`); // not a stock subject
    const wanted = stockEnvelope(T, 'W1', 'SKU-A', 2, levels(10, 2));
    publish(wanted);
    await pub.flush();

    await eventually(async () => expect(byKey.changes).toHaveLength(1), 5_000);
    expect(byKey.changes[0]).toEqual({
      eventId: wanted.eventId,
      sku: 'SKU-A',
      locationId: 'W1',
      levels: levels(10, 2),
      version: 2,
      at: wanted.recordedAt,
    });
    expect(byLocation.changes.map((c) => [c.sku, c.version])).toEqual([
      ['SKU-B', 1],
      ['SKU-A', 2],
    ]);
    expect(otherTenant.changes.map((c) => [c.sku, c.levels.onHand])).toEqual([['SKU-A', 5]]);

    // After unwatch nothing more arrives.
    byKey.unwatch();
    publish(stockEnvelope(T, 'W1', 'SKU-A', 3, levels(9)));
    await pub.flush();
    await eventually(async () => expect(byLocation.changes).toHaveLength(3), 5_000);
    expect(byKey.changes).toHaveLength(1);
    expect([byKey.ended, byLocation.ended, otherTenant.ended]).toEqual([0, 0, 0]);
  });

  it('ends every open watch and is not ready while NATS is down; ready again after the restart, and new watches receive changes', async () => {
    const a = record(T, { keys: [{ sku: 'SKU-D', locationId: 'W1' }] });
    const b = record(OTHER, { locationId: 'W9' });
    expect(await hub.subscribed()).toBe(true);
    await firstChange(a, T, 'W1', 'SKU-D', 1);

    await nats.stop();
    await eventually(async () => {
      expect(a.ended).toBe(1);
      expect(b.ended).toBe(1);
      expect(hub.ready()).toBe(false);
    }, 5_000);
    const { rejected } = await watchOnce();
    expect(rejected).toMatchObject({ code: 'UNAVAILABLE', details: { reason: 'BROKER_UNAVAILABLE' } });

    await nats.start();
    await bothBack();
    // The ended watchers were dropped (they get nothing more and are not ended twice); a new one receives changes.
    const seenBefore = a.changes.length;
    const c = record(T, { keys: [{ sku: 'SKU-D', locationId: 'W1' }] });
    const change = await firstChange(c, T, 'W1', 'SKU-D', 100);
    expect(change).toMatchObject({ sku: 'SKU-D', locationId: 'W1' });
    expect(change.version).toBeGreaterThanOrEqual(100);
    expect(a.changes).toHaveLength(seenBefore);
    expect([a.ended, b.ended, c.ended]).toEqual([1, 1, 0]);
  });
});

describe('stock watch hub started while NATS is down', () => {
  it('is not ready until NATS comes up, then delivers changes', async () => {
    await nats.stop('SIGKILL');
    const lateLog = recordingLog('warn');
    const late = createStockWatchHub(() => connectNats(nats.url, 'stock-watch-spec-late'), ns, lateLog.log);
    try {
      // Its first attempt and one retry have failed.
      await eventually(async () => expect(lateLog.count(UNREACHABLE)).toBeGreaterThanOrEqual(2), 10_000);
      expect(late.ready()).toBe(false);
      expect(await late.subscribed()).toBe(false);
      await nats.start();
      await eventually(async () => expect(await late.subscribed()).toBe(true), 15_000, 100);
      expect(late.ready()).toBe(true);
      await bothBack();
      const r: Recorder = { changes: [], ended: 0, unwatch: () => undefined };
      r.unwatch = late.watch(
        T,
        { locationId: 'LATE' },
        (c) => r.changes.push(c),
        () => r.ended++,
      );
      expect(await firstChange(r, T, 'LATE', 'SKU-L', 1)).toMatchObject({ sku: 'SKU-L', locationId: 'LATE' });
      r.unwatch();
    } finally {
      await late.close();
    }
  });
});

/** Opens watchStock and returns what its first step did (a value or a rejection). */
const watchOnce = async (filter: WatchFilter = { locationId: 'W1' }) => {
  const abort = new AbortController();
  const gen = watchStock({ hub, inventory: app.inventory, policies }, caller(T), filter, false, abort.signal);
  const timer = setTimeout(() => abort.abort(), 2_000);
  try {
    const r = await gen.next();
    return { value: r.value, rejected: undefined };
  } catch (err) {
    return { value: undefined, rejected: err };
  } finally {
    clearTimeout(timer);
    abort.abort();
    await gen.return(undefined).catch(() => undefined);
  }
};

/**
 * Every stock event of the ledger, as the relay publishes it. Reading in commit order holds back events
 * while any older transaction in the cluster is open (other specs' too): read until it has them all.
 */
const ledgerEnvelopes = async (): Promise<Envelope[]> => {
  const { rows } = await app.db.pool.query<{ n: string }>(
    `select count(*) as n from events e join streams s using (stream_id) where s.kind = 'stock_item'`,
  );
  let out: Envelope[] = [];
  await eventually(
    async () => {
      const { events } = await readInCommitOrder(app.db.pool, START, 1_000);
      out = events.filter((e) => e.stream.kind === 'stock_item').map(fromStoredEvent);
      expect(out).toHaveLength(Number(rows[0]?.n));
    },
    10_000,
    50,
  );
  return out;
};

describe('watchStock (app) on the real hub and inventory', () => {
  it('sends the current level, then the changes the ledger events carry (an old version is skipped), and ends with UNAVAILABLE / WATCH_INTERRUPTED when NATS goes down', async () => {
    const key = { sku: 'SKU-APP', locationId: 'STORE-1' };
    await bothBack();
    await app.inventory.receive(caller(T), receiveInput(`mv-${randomUUID()}`, key.sku, key.locationId, 10));

    const abort = new AbortController();
    cleanups.push(() => abort.abort());
    const gen = watchStock({ hub, inventory: app.inventory, policies }, caller(T), { keys: [key] }, true, abort.signal);
    const current = await gen.next();
    expect(current.value).toMatchObject({
      eventId: '',
      level: { ...key, levels: levels(10), available: 10, version: 1, stale: false },
    });

    await app.inventory.receive(caller(T), receiveInput(`mv-${randomUUID()}`, key.sku, key.locationId, 5));
    const [v1, v2] = (await ledgerEnvelopes()).filter((e) => e.stream.sku === key.sku);
    expect([v1?.streamVersion, v2?.streamVersion]).toEqual([1, 2]);
    // v1 was already sent as the current level: only v2 comes out.
    const next = gen.next();
    for (const e of [v1, v2]) if (e !== undefined) publish(e, eventSubject(ns, e.tenantId, e.eventType));
    await pub.flush();
    const change = await next;
    expect(change.value).toMatchObject({
      eventId: v2?.eventId,
      level: { ...key, levels: levels(15), available: 15, version: 2, asOf: v2?.recordedAt },
    });

    const pending = rejection(gen.next());
    await nats.stop('SIGKILL');
    const err = await pending;
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'UNAVAILABLE', details: { reason: 'WATCH_INTERRUPTED' } });
    expect(hub.ready()).toBe(false);
    await nats.start();
    await bothBack();
  });

  it('drops a watcher that falls more than 10,000 changes behind with ABORTED / WATCHER_TOO_SLOW', async () => {
    await bothBack();
    const key = { sku: 'SKU-FLOOD', locationId: 'W1' };
    const total = 10_050;
    const abort = new AbortController();
    cleanups.push(() => abort.abort());
    const gen = watchStock(
      { hub, inventory: app.inventory, policies },
      caller(T),
      { keys: [key] },
      false,
      abort.signal,
    );
    const registered = hubLog.count(REGISTERED);
    const first = gen.next();
    await eventually(async () => expect(hubLog.count(REGISTERED)).toBe(registered + 1));
    // A second watcher on the same hub sees every change in the same callback, right after the generator's.
    const counter = record(T, { keys: [key] });

    const t0 = performance.now();
    for (let v = 1; v <= total; v++) publish(stockEnvelope(T, key.locationId, key.sku, v, levels(v)));
    await pub.flush();
    await eventually(async () => expect(counter.changes).toHaveLength(total), 10_000, 50);
    expect(performance.now() - t0).toBeLessThan(10_000);

    // The first change was taken before the flood piled up; the consumer never asked for more.
    expect((await first).value).toMatchObject({ level: { ...key, version: 1 } });
    const err = await rejection(gen.next());
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'ABORTED', details: { reason: 'WATCHER_TOO_SLOW' } });
    // The dropped watcher is finished for good.
    expect(await gen.next()).toEqual({ value: undefined, done: true });
  });

  it("does not pile up abort listeners on the call's signal while it waits for change after change", async () => {
    await bothBack();
    const key = { sku: 'SKU-IDLE', locationId: 'W1' };
    const abort = new AbortController();
    cleanups.push(() => abort.abort());
    const gen = watchStock(
      { hub, inventory: app.inventory, policies },
      caller(T),
      { keys: [key] },
      false,
      abort.signal,
    );
    // Every change arrives while the watcher is idle, so each one is a wait of its own.
    for (let v = 1; v <= 25; v++) {
      const next = gen.next();
      await eventually(async () => expect(getEventListeners(abort.signal, 'abort').length).toBeGreaterThan(0));
      publish(stockEnvelope(T, key.locationId, key.sku, v, levels(v)));
      expect((await next).value).toMatchObject({ level: { ...key, version: v } });
    }
    expect(getEventListeners(abort.signal, 'abort').length).toBeLessThanOrEqual(1);
    abort.abort();
    expect(await gen.next()).toEqual({ value: undefined, done: true });
  });

  it('ends open watches when the hub closes', async () => {
    // A hub of its own, so the shared one stays open for the other specs' afterAll.
    const own = createStockWatchHub(() => connectNats(nats.url, 'stock-watch-spec-own'), ns, silentLog);
    expect(await own.subscribed()).toBe(true);
    let ended = 0;
    own.watch(
      T,
      { locationId: 'W1' },
      () => undefined,
      () => ended++,
    );
    await own.close();
    expect(ended).toBe(1);
  });
});
