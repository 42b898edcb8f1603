// Random command sequences against an in-memory store of snapshots and event lists,
// checking the stock invariants after every step.
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { describe, it } from 'vitest';
import { available, isNonNegative, zeroLevels } from '../stock/levels.js';
import * as stock from '../stock/stockItem.js';
import * as reservation from './reservation.js';
import { decidePlace, decideTransition } from './workflow.js';
import type { Levels } from '../stock/levels.js';
import type { StockItem, StockItemEvent } from '../stock/stockItem.js';
import type { Reservation, ReservationCommand, ReservationEvent, ReservationLine } from './reservation.js';
import type { WorkflowDecision } from './workflow.js';

const LOCATIONS = ['wh-1', 'store-1'] as const;
const SKUS = ['SKU-A', 'SKU-B'] as const;
const START = Date.parse('2025-11-28T00:00:00.000Z');

/**
 * Reservations are named by `target`, an index into the ids placed so far, resolved when the step
 * runs: transitions mostly hit a real reservation (target 0 names an unknown one),
 * and a place with a target repeats an existing id.
 */
type Op =
  | { kind: 'receive'; locationId: string; sku: string; quantity: number }
  | {
      kind: 'place';
      target: number | null;
      lines: { locationId: string; sku: string; quantity: number }[];
      ttlSeconds: number;
      safetyStock: number;
      orderRef: string;
    }
  | { kind: 'confirm'; target: number; orderRef: string }
  | { kind: 'fulfil' | 'release' | 'expire'; target: number };
type Step = { advanceSeconds: number; op: Op };

const location = fc.constantFrom(...LOCATIONS);
const sku = fc.constantFrom(...SKUS);
const target = fc.nat({ max: 20 });
const orderRef = fc.oneof(
  { arbitrary: fc.constant(''), weight: 3 },
  { arbitrary: fc.constantFrom('order-1', 'order-2'), weight: 1 },
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('receive' as const),
      locationId: location,
      sku,
      quantity: fc.integer({ min: 1, max: 20 }),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('place' as const),
      target: fc.oneof({ arbitrary: fc.constant(null), weight: 7 }, { arbitrary: target, weight: 1 }),
      lines: fc.array(fc.record({ locationId: location, sku, quantity: fc.integer({ min: 1, max: 4 }) }), {
        minLength: 1,
        maxLength: 3,
      }),
      ttlSeconds: fc.integer({ min: 60, max: 1200 }),
      safetyStock: fc.oneof(
        { arbitrary: fc.constant(0), weight: 3 },
        { arbitrary: fc.integer({ min: 1, max: 2 }), weight: 1 },
      ),
      orderRef,
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ kind: fc.constant('confirm' as const), target, orderRef }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('fulfil' as const), target }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constantFrom('release' as const, 'expire' as const), target }), weight: 2 },
);
const stepArb: fc.Arbitrary<Step> = fc.record({ advanceSeconds: fc.integer({ min: 0, max: 120 }), op: opArb });

type Stream<S, E> = { state: S; events: E[] };

/** The write side in memory: per stream a snapshot kept by `evolve` and the appended events. */
class Store {
  readonly items = new Map<string, Stream<StockItem, StockItemEvent>>();
  readonly reservations = new Map<string, Stream<Reservation, ReservationEvent>>();
  readonly received = new Map<string, number>();
  readonly shipped = new Map<string, number>();
  readonly placedIds: string[] = [];

  static key = (locationId: string, sku: string): string => JSON.stringify([locationId, sku]);

  item(locationId: string, sku: string): Stream<StockItem, StockItemEvent> {
    const key = Store.key(locationId, sku);
    const found = this.items.get(key) ?? { state: stock.initialState(), events: [] };
    this.items.set(key, found);
    return found;
  }

  reservation(id: string): Stream<Reservation, ReservationEvent> {
    const found = this.reservations.get(id) ?? { state: reservation.initialState(), events: [] };
    this.reservations.set(id, found);
    return found;
  }

  appendStock(line: { locationId: string; sku: string }, events: StockItemEvent[]): void {
    const stream = this.item(line.locationId, line.sku);
    for (const event of events) {
      stream.state = stock.evolve(stream.state, event);
      stream.events.push(event);
    }
  }

  /** Appends a workflow decision: the reservation's events, and `stock[i]` to the item of `lines[i]`. */
  apply(id: string, lines: ReservationLine[], decision: WorkflowDecision): void {
    if (decision.kind === 'refused') return;
    const stream = this.reservation(id);
    for (const event of decision.reservation) {
      stream.state = reservation.evolve(stream.state, event);
      stream.events.push(event);
    }
    const expectedLines = decision.reservation.length === 0 ? 0 : lines.length;
    check(
      decision.stock.length === expectedLines,
      () => `${decision.stock.length} stock event lists for ${expectedLines} lines`,
    );
    decision.stock.forEach((events, i) => {
      const line = lines[i];
      if (line === undefined) throw new Error(`stock events for missing line ${i}`);
      this.appendStock(line, events);
    });
  }

  add(totals: Map<string, number>, locationId: string, sku: string, quantity: number): void {
    const key = Store.key(locationId, sku);
    totals.set(key, (totals.get(key) ?? 0) + quantity);
  }
}

const toLine = (l: { locationId: string; sku: string; quantity: number }): ReservationLine => ({
  ...l,
  unit: 'each',
  unitQuantity: l.quantity,
});

/** Plain checks, not `expect`: they run after every step of every run and must stay cheap. */
const check = (ok: boolean, problem: () => string): void => {
  if (!ok) throw new Error(problem());
};
const show = (value: unknown): string => JSON.stringify(value);

/** Place succeeds iff the id is new and, per stock item, all its lines together fit what is available. */
const checkPlaceOutcome = (
  store: Store,
  op: Extract<Op, { kind: 'place' }>,
  before: Reservation,
  decision: WorkflowDecision,
) => {
  const demand = new Map<string, number>();
  for (const l of op.lines)
    demand.set(Store.key(l.locationId, l.sku), (demand.get(Store.key(l.locationId, l.sku)) ?? 0) + l.quantity);
  const fits = [...demand].every(
    ([key, wanted]) => wanted <= available(store.items.get(key)?.state.levels ?? zeroLevels(), op.safetyStock),
  );
  const expected = before.status !== 'NONE' ? 'RESERVATION_EXISTS' : fits ? 'accepted' : 'INSUFFICIENT_STOCK';
  const actual = decision.kind === 'accepted' ? 'accepted' : decision.refusal.reason;
  check(actual === expected, () => `place ${show(op.lines)}: expected ${expected}, got ${show(decision)}`);
};

const run = (store: Store, step: Step, nowMs: number): void => {
  const now = new Date(nowMs).toISOString();
  const { op } = step;
  if (op.kind === 'receive') {
    const stream = store.item(op.locationId, op.sku);
    const command = {
      type: 'ReceiveStock',
      data: {
        movementId: `m-${stream.events.length}`,
        quantity: op.quantity,
        unit: 'each',
        unitQuantity: op.quantity,
        reference: 'po',
      },
    } as const;
    const decision = stock.decide(command, stream.state);
    check(decision.kind === 'accepted', () => `receive refused: ${show(decision)}`);
    if (decision.kind === 'accepted') store.appendStock(op, decision.events);
    store.add(store.received, op.locationId, op.sku, op.quantity);
    return;
  }
  const ids = store.placedIds;
  const id =
    op.kind === 'place'
      ? op.target === null || ids.length === 0
        ? `r-${ids.length + 1}`
        : (ids[op.target % ids.length] ?? 'r-unknown')
      : op.target === 0
        ? 'r-unknown'
        : (ids[op.target % ids.length] ?? 'r-unknown');
  const res = store.reservation(id);
  if (op.kind === 'place') {
    const lines = op.lines.map(toLine);
    const items = lines.map((l) => store.item(l.locationId, l.sku).state);
    const command = {
      reservationId: id,
      channel: 'ECOMMERCE',
      lines,
      expiresAt: new Date(nowMs + op.ttlSeconds * 1000).toISOString(),
      orderRef: op.orderRef,
      safetyStock: op.safetyStock,
    } as const;
    const decision = decidePlace(command, res.state, items);
    checkPlaceOutcome(store, op, res.state, decision);
    store.apply(id, lines, decision);
    if (decision.kind === 'accepted') ids.push(id);
    return;
  }
  const lines = res.state.status === 'NONE' ? [] : res.state.lines;
  const items = lines.map((l) => store.item(l.locationId, l.sku).state);
  const command: Exclude<ReservationCommand, { type: 'PlaceReservation' }> =
    op.kind === 'confirm'
      ? { type: 'ConfirmReservation', data: { orderRef: op.orderRef, now } }
      : op.kind === 'fulfil'
        ? { type: 'FulfilReservation', data: { shipmentRef: `ship-${id}` } }
        : op.kind === 'release'
          ? { type: 'ReleaseReservation', data: { reason: 'cancelled' } }
          : { type: 'ExpireReservation', data: { now } };
  const decision = decideTransition(command, res.state, items);
  store.apply(id, lines, decision);
  if (op.kind === 'fulfil' && decision.kind === 'accepted' && decision.reservation.length > 0) {
    for (const l of lines) store.add(store.shipped, l.locationId, l.sku, l.quantity);
  }
};

/** (a) no level negative, available never below zero, holds never above on hand (no overselling). */
const checkLevels = (store: Store): void => {
  for (const [key, { state }] of store.items) {
    const { levels } = state;
    check(isNonNegative(levels), () => `${key}: negative level ${show(levels)}`);
    check(available(levels, 0) >= 0, () => `${key}: available below zero ${show(levels)}`);
    check(levels.reserved + levels.committed <= levels.onHand, () => `${key}: oversold ${show(levels)}`);
  }
};

/** (b) every snapshot is the fold of its stream, and each stock event's levelsAfter is the fold up to it. */
const checkStreams = (store: Store): void => {
  for (const [key, { state, events }] of store.items) {
    let folded = stock.initialState();
    for (const [i, event] of events.entries()) {
      folded = stock.evolve(folded, event);
      check(
        isDeepStrictEqual(event.data.levelsAfter, folded.levels),
        () => `${key} event ${i}: levelsAfter ${show(event.data.levelsAfter)}, fold ${show(folded.levels)}`,
      );
    }
    check(isDeepStrictEqual(folded, state), () => `${key}: fold ${show(folded)} != snapshot ${show(state)}`);
    const last = events.at(-1)?.data.levelsAfter ?? zeroLevels();
    check(
      isDeepStrictEqual(last, state.levels),
      () => `${key}: last levelsAfter ${show(last)} != snapshot ${show(state.levels)}`,
    );
  }
  for (const [id, { state, events }] of store.reservations) {
    const folded = events.reduce(reservation.evolve, reservation.initialState());
    check(isDeepStrictEqual(folded, state), () => `${id}: fold ${show(folded)} != snapshot ${show(state)}`);
  }
};

/** (c) on hand = received − shipped; reserved / committed = lines of PENDING / CONFIRMED reservations. */
const checkConservation = (store: Store): void => {
  const held = new Map<string, Levels>();
  for (const { state } of store.reservations.values()) {
    if (state.status !== 'PENDING' && state.status !== 'CONFIRMED') continue;
    for (const l of state.lines) {
      const key = Store.key(l.locationId, l.sku);
      const levels = held.get(key) ?? zeroLevels();
      if (state.status === 'PENDING') levels.reserved += l.quantity;
      else levels.committed += l.quantity;
      held.set(key, levels);
    }
  }
  for (const [key, { state }] of store.items) {
    const expected = {
      ...(held.get(key) ?? zeroLevels()),
      onHand: (store.received.get(key) ?? 0) - (store.shipped.get(key) ?? 0),
    };
    check(
      isDeepStrictEqual(state.levels, expected),
      () => `${key}: levels ${show(state.levels)}, expected ${show(expected)}`,
    );
  }
};

describe('reservation workflow over random command sequences', () => {
  it('never oversells, keeps snapshots equal to their streams, and conserves stock', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 60, size: 'max' }), (steps) => {
        const store = new Store();
        let nowMs = START;
        for (const step of steps) {
          nowMs += step.advanceSeconds * 1000;
          run(store, step, nowMs);
          checkLevels(store);
          checkConservation(store);
        }
        checkStreams(store);
      }),
      { numRuns: 1000 },
    );
  });
});
