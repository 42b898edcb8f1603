// Use cases: each command is one short transaction — claim the idempotency
// key, lock the streams in sorted order, read the clock, decide (pure),
// append at the expected versions, commit. A request handler never publishes.
import * as stock from '../domain/stock/stockItem.js';
import * as reservation from '../domain/reservations/reservation.js';
import { decidePlace, decideTransition } from '../domain/reservations/workflow.js';
import {
  appendToStreams,
  lockStreams,
  readStockItems,
  readStreams,
  reservationStreamKey,
  stockItemStreamKey,
  streamKeyId,
} from '../store/eventStore.js';
import { claimKey } from '../store/idempotency.js';
import { inTransaction } from '../../../platform/postgres/tx.js';
import { isConnectionError, isLedgerDown } from '../../../platform/postgres/pool.js';
import { wireEventType } from '../../../contracts/eventTypes.js';
import { AppError } from '../../../platform/errors.js';
import { eventIdFor, requestHash } from '../../../platform/ids.js';
import { readPolicyRecord } from '../store/policies.js';
import { reservationTtlMs, updatePolicy } from './policy.js';
import { checkQuery, checkReservationId, checkReserve, LIMITS } from './validation.js';
import { createCatalog } from './catalog.js';
import { expandRegions, isRegion, sumRegions } from './regions.js';
import { commandMetadata, createMovementRunner } from './movements.js';
import { createStockMovements } from './stockMovements.js';
import { createHistory } from './history.js';
import { reservationView, stockLevelView } from './views.js';
import type pg from 'pg';
import type { Levels } from '../domain/stock/levels.js';
import type { Caller } from './caller.js';
import type { Outcome as BaseOutcome } from './outcome.js';
import type { ActiveReservation, Reservation, ReservationCommand } from '../domain/reservations/reservation.js';
import type { WorkflowDecision, WorkflowRefusal } from '../domain/reservations/workflow.js';
import type { AppendOptions, EventMetadata, StoredStream, StreamAppend, StreamKey } from '../store/eventStore.js';
import type { PolicySource } from '../store/policies.js';
import type { RefusalLog } from './refusals.js';
import type { ReserveInput, StockKeyInput } from './validation.js';
import type { ReservationView, StockLevelView } from './views.js';
import type { AvailabilityCache } from '../readmodels/availabilityCache.js';
import type { AvailabilityRecord } from '../../../contracts/availabilityRecord.js';

type Outcome<T> = BaseOutcome<T, WorkflowRefusal>;

export type InventoryDeps = {
  pool: pg.Pool;
  /** For reads: a short connect timeout, so a fallback still answers in time. Defaults to `pool`. */
  readPool?: pg.Pool;
  policies: PolicySource;
  refusals: RefusalLog;
  producer: string;
  /** The Redis availability read model; without it every read goes to the ledger. */
  availability?: AvailabilityCache;
  /** NOTIFY this channel at commit so the relay wakes at once; null = the relay polls. */
  notifyChannel?: string | null;
  /** A due reservation failed to expire; its expiry is retried 30 s later, so it never blocks the others. */
  onExpiryError?: (tenantId: string, reservationId: string, err: unknown) => void;
};

export type Consistency = 'EVENTUAL' | 'STRONG';

type Transition = Exclude<ReservationCommand, { type: 'PlaceReservation' }>;

const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });

const must = (streams: Map<string, StoredStream>, key: StreamKey): StoredStream => {
  const s = streams.get(streamKeyId(key));
  if (s === undefined) throw new Error(`stream ${streamKeyId(key)} was not locked`);
  return s;
};

const reservationState = (s: StoredStream): Reservation =>
  s.version === 0 ? reservation.initialState() : (s.state as Reservation);
const stockState = (s: StoredStream): stock.StockItem =>
  s.version === 0 ? stock.initialState() : (s.state as stock.StockItem);

export const createInventory = (deps: InventoryDeps) => {
  const { pool, policies } = deps;
  const catalog = createCatalog({ pool, ...(deps.readPool === undefined ? {} : { readPool: deps.readPool }) });
  const runner = createMovementRunner({
    pool,
    policies,
    refusals: deps.refusals,
    producer: deps.producer,
    notifyChannel: deps.notifyChannel ?? null,
  });
  const movements = createStockMovements({ pool, catalog, runner });
  const history = createHistory({ pool: deps.readPool ?? pool, policies, catalog });

  const metadata = (
    caller: Caller,
    causationId: string,
    channel: string | null,
    policyVersion: number,
  ): EventMetadata => commandMetadata(deps.producer, caller, causationId, channel, policyVersion);

  /** Appends a workflow decision: the reservation stream and the stock item of each line. */
  const appendDecision = async (
    client: pg.ClientBase,
    caller: Caller,
    command: string,
    resStream: StoredStream,
    itemStreams: StoredStream[],
    decision: Extract<WorkflowDecision, { kind: 'accepted' }>,
    now: Date,
    meta: EventMetadata,
    extras: Omit<AppendOptions, 'notifyChannel'> = {},
  ): Promise<Reservation> => {
    const id = (streamIndex: number, eventIndex: number) =>
      eventIdFor(caller.tenantId, command, meta.causationId, streamIndex, eventIndex);
    const resState = decision.reservation.reduce(reservation.evolve, reservationState(resStream));
    const appends: StreamAppend[] = [
      {
        stream: resStream,
        state: resState,
        events: decision.reservation.map((e, j) => ({
          eventId: id(0, j),
          eventType: wireEventType('reservations', e.type),
          schemaVersion: 1,
          data: e.data,
          occurredAt: now,
        })),
      },
      ...itemStreams.map((s, i) => {
        const events = decision.stock[i] ?? [];
        return {
          stream: s,
          state: events.reduce(stock.evolve, stockState(s)),
          events: events.map((e, j) => ({
            eventId: id(i + 1, j),
            eventType: wireEventType('stock', e.type),
            schemaVersion: 1,
            data: e.data,
            occurredAt: now,
          })),
        };
      }),
    ];
    await appendToStreams(client, caller.tenantId, appends, meta, now, {
      ...extras,
      notifyChannel: deps.notifyChannel ?? null,
    });
    return resState;
  };

  const reserve = async (caller: Caller, input: ReserveInput): Promise<Outcome<ReservationView>> => {
    checkReserve(input);
    // The fingerprint covers the request as sent, before defaults: a retry after a policy change still matches.
    const hash = requestHash(input);
    const channel = input.channel ?? 'ECOMMERCE';
    const { version: policyVersion, policy } = await policies.get(caller.tenantId);
    const baseQuantities = await catalog.toBase(
      caller.tenantId,
      input.lines.map((l, i) => ({
        ...l,
        fields: {
          sku: `lines[${i}].sku`,
          locationId: `lines[${i}].location_id`,
          quantity: `lines[${i}].quantity`,
          unit: `lines[${i}].unit`,
        },
      })),
    );
    const lines = input.lines.map((l, i) => ({
      sku: l.sku,
      locationId: l.locationId,
      quantity: baseQuantities[i] as number,
      unit: l.unit,
      unitQuantity: l.quantity,
    }));
    const resKey = reservationStreamKey(input.reservationId);
    const itemKeys = lines.map((l) => stockItemStreamKey(l.locationId, l.sku));

    const outcome = await inTransaction(pool, caller.signal, async (c) => {
      const claim = await claimKey(c, caller.tenantId, 'reservation', input.reservationId, hash);
      if (claim.kind === 'replay') return { commit: false, value: ok(claim.response as ReservationView) };
      if (claim.kind === 'conflict') throw reusedId('reservation_id', input.reservationId);
      const { streams, now } = await lockStreams(c, caller.tenantId, [resKey, ...itemKeys]);
      const resStream = must(streams, resKey);
      const itemStreams = itemKeys.map((k) => must(streams, k));
      const expiresAt = new Date(now.getTime() + (input.ttlMs ?? reservationTtlMs(policy, channel)));
      const decision = decidePlace(
        {
          reservationId: input.reservationId,
          channel,
          lines,
          expiresAt: expiresAt.toISOString(),
          orderRef: input.orderRef,
          safetyStock: policy.safetyStock,
        },
        reservationState(resStream),
        itemStreams.map(stockState),
      );
      if (decision.kind === 'refused')
        return { commit: false, value: { ok: false as const, refusal: decision.refusal } };
      const meta = metadata(caller, input.reservationId, channel, policyVersion);
      const placed = decision.reservation.reduce(reservation.evolve, reservationState(resStream));
      const view = reservationView(
        placed as ActiveReservation,
        resStream.version + decision.reservation.length,
        now,
        now,
      );
      await appendDecision(c, caller, 'reserve', resStream, itemStreams, decision, now, meta, {
        expiry: { reservationId: input.reservationId, expiresAt },
        idempotency: { scope: 'reservation', key: input.reservationId, response: view },
      });
      return { commit: true, value: ok(view) };
    });
    if (!outcome.ok && outcome.refusal.reason === 'INSUFFICIENT_STOCK') {
      const r = outcome.refusal;
      deps.refusals.record({
        tenantId: caller.tenantId,
        channel,
        command: 'reserve',
        reservationId: input.reservationId,
        sku: r.sku,
        locationId: r.locationId,
        requested: r.requested,
        available: r.available,
        at: new Date(),
      });
    }
    return outcome;
  };

  /** Runs a lifecycle transition inside an open transaction. */
  const transitionIn = async (
    c: pg.ClientBase,
    caller: Caller,
    reservationId: string,
    command: string,
    build: (now: Date) => Transition,
    policyVersion: number,
  ): Promise<{ commit: boolean; value: Outcome<ReservationView> }> => {
    const resKey = reservationStreamKey(reservationId);
    // Lines never change after placement, so reading them unlocked tells which streams to lock.
    const placed = (await readStreams(c, caller.tenantId, [resKey])).get(streamKeyId(resKey));
    if (placed === undefined || placed.version === 0) {
      throw new AppError('NOT_FOUND', `reservation "${reservationId}" does not exist`, {
        reason: 'RESERVATION_NOT_FOUND',
      });
    }
    const placedState = placed.state as ActiveReservation;
    caller.authorize?.({ channel: placedState.channel, locations: placedState.lines.map((l) => l.locationId) });
    const itemKeys = placedState.lines.map((l) => stockItemStreamKey(l.locationId, l.sku));
    const { streams, now } = await lockStreams(c, caller.tenantId, [resKey, ...itemKeys]);
    const resStream = must(streams, resKey);
    const itemStreams = itemKeys.map((k) => must(streams, k));
    const current = reservationState(resStream);
    const decision = decideTransition(build(now), current, itemStreams.map(stockState));
    if (decision.kind === 'refused') return { commit: false, value: { ok: false, refusal: decision.refusal } };
    if (decision.reservation.length === 0) {
      return {
        commit: false,
        value: ok(
          reservationView(
            current as ActiveReservation,
            resStream.version,
            resStream.createdAt ?? now,
            resStream.updatedAt ?? now,
          ),
        ),
      };
    }
    const meta = metadata(caller, reservationId, (current as ActiveReservation).channel, policyVersion);
    const state = await appendDecision(c, caller, command, resStream, itemStreams, decision, now, meta);
    const version = resStream.version + decision.reservation.length;
    return {
      commit: true,
      value: ok(reservationView(state as ActiveReservation, version, resStream.createdAt ?? now, now)),
    };
  };

  const transition = async (
    caller: Caller,
    reservationId: string,
    command: string,
    build: (now: Date) => Transition,
  ) => {
    const { version } = await policies.get(caller.tenantId);
    return inTransaction(pool, caller.signal, (c) => transitionIn(c, caller, reservationId, command, build, version));
  };

  const confirm = (caller: Caller, reservationId: string, orderRef: string) => {
    checkReservationId(reservationId, { order_ref: orderRef });
    return transition(caller, reservationId, 'confirm', (now) => ({
      type: 'ConfirmReservation',
      data: { orderRef, now: now.toISOString() },
    }));
  };

  const fulfil = (caller: Caller, reservationId: string, shipmentRef: string) => {
    checkReservationId(reservationId, { shipment_ref: shipmentRef });
    return transition(caller, reservationId, 'fulfil', () => ({ type: 'FulfilReservation', data: { shipmentRef } }));
  };

  const release = (caller: Caller, reservationId: string, reason: string) => {
    checkReservationId(reservationId, { reason });
    return transition(caller, reservationId, 'release', () => ({
      type: 'ReleaseReservation',
      data: { reason: reason || 'RELEASED' },
    }));
  };

  /**
   * Expires at most one due reservation, claimed with SKIP LOCKED so any
   * number of core processes share the work; the database clock decides.
   * Returns false when none is due.
   */
  const expireNextDue = (operator: string, correlationId: string): Promise<boolean> =>
    inTransaction(pool, undefined, async (c) => {
      const { rows } = await c.query<{ tenant_id: string; reservation_id: string }>({
        name: 'sm_expiry_claim',
        text: `delete from reservation_expiry
               where ctid = (select ctid from reservation_expiry where expires_at <= clock_timestamp()
                             order by expires_at limit 1 for update skip locked)
               returning tenant_id, reservation_id`,
      });
      const due = rows[0];
      if (due === undefined) return { commit: false, value: false };
      const caller: Caller = { tenantId: due.tenant_id, operator, correlationId, traceId: null };
      const { version } = await policies.get(caller.tenantId);
      const expire = (now: Date): Transition => ({ type: 'ExpireReservation', data: { now: now.toISOString() } });
      await c.query('savepoint expire_one');
      try {
        await transitionIn(c, caller, due.reservation_id, 'expire', expire, version);
      } catch (err) {
        if (isConnectionError(err)) throw err;
        // Ordered by expires_at, one reservation that keeps failing would be claimed first for ever.
        await c.query('rollback to savepoint expire_one');
        await c.query({
          name: 'sm_expiry_postpone',
          text: `insert into reservation_expiry (tenant_id, reservation_id, expires_at) values ($1, $2, clock_timestamp() + interval '30 seconds')`,
          values: [due.tenant_id, due.reservation_id],
        });
        deps.onExpiryError?.(due.tenant_id, due.reservation_id, err);
      }
      // Commit even when nothing was due to expire (confirmed or released meanwhile): the claim row goes.
      return { commit: true, value: true };
    });

  const getReservation = async (caller: Caller, reservationId: string): Promise<ReservationView> => {
    checkReservationId(reservationId);
    const key = reservationStreamKey(reservationId);
    const s = (await readStreams(pool, caller.tenantId, [key])).get(streamKeyId(key));
    if (s === undefined || s.version === 0 || s.createdAt === null || s.updatedAt === null) {
      throw new AppError('NOT_FOUND', `reservation "${reservationId}" does not exist`, {
        reason: 'RESERVATION_NOT_FOUND',
      });
    }
    const state = s.state as ActiveReservation;
    caller.authorize?.({ channel: state.channel, locations: state.lines.map((l) => l.locationId) });
    return reservationView(state, s.version, s.createdAt, s.updatedAt);
  };

  // Whether the ledger answered lately. While it does not, an EVENTUAL answer from Redis is
  // marked stale: nothing can tell how far behind the projection is. Probed at most once a
  // second, off the request's path; every ledger read also updates it.
  const ledger = { down: false, probedAt: 0 };
  const noteLedgerError = (err: unknown) => {
    if (isConnectionError(err)) ledger.down = true;
  };
  const probeLedger = () => {
    if (Date.now() - ledger.probedAt < 1_000) return;
    ledger.probedAt = Date.now();
    void (deps.readPool ?? pool).query('select 1').then(() => (ledger.down = false), noteLedgerError);
  };

  /**
   * STRONG reads the ledger; EVENTUAL reads the Redis read model (one round
   * trip), filling never-projected keys from the ledger. Redis down: the
   * ledger answers. Ledger down: Redis answers with stale = true.
   */
  const queryItems = async (
    caller: Caller,
    keys: StockKeyInput[],
    consistency: Consistency,
  ): Promise<StockLevelView[]> => {
    const { policy } = await policies.get(caller.tenantId, 'read');
    const { availability } = deps;
    const fromLedger = async (subset: StockKeyInput[]): Promise<StockLevelView[]> => {
      const { items, readAt } = await readStockItems(deps.readPool ?? pool, caller.tenantId, subset).catch(
        (err: unknown) => {
          noteLedgerError(err);
          throw err;
        },
      );
      ledger.down = false;
      return subset.map((k, i) => {
        const item = items[i] ?? null;
        return stockLevelView(
          k,
          item === null ? null : (item.state as { levels: Levels }).levels,
          item?.version ?? 0,
          readAt,
          policy,
        );
      });
    };
    const fromCache = (k: StockKeyInput, r: AvailabilityRecord | null, stale: boolean): StockLevelView =>
      r === null
        ? stockLevelView(k, null, 0, new Date(), policy, stale)
        : stockLevelView(k, r.levels, r.version, new Date(r.asOf), policy, stale);

    if (consistency === 'STRONG' || availability === undefined) {
      try {
        return await fromLedger(keys);
      } catch (err) {
        if (availability === undefined || !isLedgerDown(err, deps.readPool ?? pool)) throw err;
        const cached = await availability.read(caller.tenantId, keys).catch(() => {
          throw err;
        });
        return keys.map((k, i) => fromCache(k, cached[i] ?? null, true));
      }
    }
    let cached: (AvailabilityRecord | null)[];
    try {
      cached = await availability.read(caller.tenantId, keys);
    } catch {
      return fromLedger(keys);
    }
    probeLedger();
    const missing = keys.flatMap((k, i) => (cached[i] == null ? [i] : []));
    const views = keys.map((k, i) => fromCache(k, cached[i] ?? null, ledger.down));
    if (missing.length === 0) return views;
    try {
      const filled = await fromLedger(missing.map((i) => keys[i] as StockKeyInput));
      missing.forEach((i, j) => (views[i] = filled[j] as StockLevelView));
    } catch (err) {
      if (!isLedgerDown(err, deps.readPool ?? pool)) throw err;
      for (const i of missing) views[i] = fromCache(keys[i] as StockKeyInput, null, true);
    }
    return views;
  };

  /**
   * Levels per key, in request order. A key whose location is a region answers the sum over every
   * warehouse and store below it (`aggregated`); with the ledger down, the last known tree is used.
   */
  const queryStock = async (
    caller: Caller,
    keys: StockKeyInput[],
    consistency: Consistency = 'STRONG',
  ): Promise<StockLevelView[]> => {
    checkQuery(keys);
    const tree = await catalog.treeForRead(caller.tenantId).catch(() => null);
    const { policy } = await policies.get(caller.tenantId, 'read');
    const groups = expandRegions(tree, keys);
    const flat = groups.flat();
    if (flat.length > LIMITS.maxExpandedKeys) {
      throw new AppError(
        'INVALID_ARGUMENT',
        `the keys cover ${flat.length} stock items; at most ${LIMITS.maxExpandedKeys} per call`,
        {
          reason: 'INVALID_ARGUMENT',
          violations: [
            { field: 'keys', description: `regions expand to at most ${LIMITS.maxExpandedKeys} stock items per call` },
          ],
        },
      );
    }
    const views = flat.length === 0 ? [] : await queryItems(caller, flat, consistency);
    return sumRegions(keys, groups, views, (k) => isRegion(tree, k.locationId), policy);
  };

  const getPolicy = (caller: Caller) => readPolicyRecord(deps.readPool ?? pool, caller.tenantId);

  const putPolicy = async (caller: Caller, input: unknown, expectedVersion: number) => {
    const record = await updatePolicy(pool, caller.tenantId, input, expectedVersion, caller.operator);
    policies.forget(caller.tenantId);
    return record;
  };

  return {
    reserve,
    confirm,
    fulfil,
    release,
    expireNextDue,
    getReservation,
    queryStock,
    catalog,
    getPolicy,
    putPolicy,
    history,
    ...movements,
  };
};

export type Inventory = ReturnType<typeof createInventory>;

const reusedId = (field: string, id: string): AppError =>
  new AppError('ALREADY_EXISTS', `${field} "${id}" was already used with a different request; use a new id`, {
    reason: 'IDEMPOTENCY_KEY_REUSED',
    metadata: { [field]: id },
  });
