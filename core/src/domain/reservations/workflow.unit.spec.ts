import { describe, expect, it } from 'vitest';
import { expectInvariant } from '../../../../test/support/decider.js';
import { zeroLevels } from '../stock/levels.js';
import { evolve, initialState } from './reservation.js';
import { decidePlace, decideTransition } from './workflow.js';
import type { Levels } from '../stock/levels.js';
import type { StockItem, StockItemEvent } from '../stock/stockItem.js';
import type { Reservation, ReservationEvent, ReservationLine } from './reservation.js';
import type { PlaceCommand } from './workflow.js';

const ID = 'res-1';
const EXPIRES = '2025-11-28T10:15:00.000Z';
const BEFORE = '2025-11-28T10:00:00.000Z';
const LATER = '2025-11-28T11:00:00.000Z';

const L = (partial: Partial<Levels>): Levels => ({ ...zeroLevels(), ...partial });
const item = (partial: Partial<Levels>): StockItem => ({ levels: L(partial) });
const line = (sku: string, locationId: string, quantity: number): ReservationLine => ({
  sku,
  locationId,
  quantity,
  unit: 'each',
  unitQuantity: quantity,
});

const threeLines = [line('SKU-A', 'wh-1', 2), line('SKU-B', 'wh-1', 5), line('SKU-A', 'store-7', 1)];
const placeCommand = (lines: ReservationLine[], safetyStock = 0): PlaceCommand => ({
  reservationId: ID,
  channel: 'ECOMMERCE',
  lines,
  expiresAt: EXPIRES,
  orderRef: 'order-1',
  safetyStock,
});
const placedEvent = (lines: ReservationLine[]): ReservationEvent => ({
  type: 'ReservationPlaced',
  data: { reservationId: ID, channel: 'ECOMMERCE', lines, expiresAt: EXPIRES, orderRef: 'order-1' },
});
const reservationAfter = (events: ReservationEvent[]): Reservation => events.reduce(evolve, initialState());
const confirmedEvent: ReservationEvent = {
  type: 'ReservationConfirmed',
  data: { reservationId: ID, orderRef: 'order-1' },
};

const reservedEvent = (quantity: number, levelsAfter: Partial<Levels>): StockItemEvent[] => [
  { type: 'StockReserved', data: { reservationId: ID, quantity, levelsAfter: L(levelsAfter) } },
];

describe('decidePlace: all lines or none', () => {
  it('reserves every line when all have stock, one StockReserved per line in line order', () => {
    const items = [item({ onHand: 10 }), item({ onHand: 8, reserved: 1 }), item({ onHand: 1 })];
    expect(decidePlace(placeCommand(threeLines), initialState(), items)).toEqual({
      kind: 'accepted',
      reservation: [placedEvent(threeLines)],
      stock: [
        reservedEvent(2, { onHand: 10, reserved: 2 }),
        reservedEvent(5, { onHand: 8, reserved: 6 }),
        reservedEvent(1, { onHand: 1, reserved: 1 }),
      ],
    });
  });

  it('refuses the whole reservation when line 2 lacks stock, naming that line, with no events at all', () => {
    const items = [item({ onHand: 10 }), item({ onHand: 6, reserved: 2 }), item({ onHand: 3 })];
    const decision = decidePlace(placeCommand(threeLines), initialState(), items);
    expect(decision).toEqual({
      kind: 'refused',
      refusal: { reason: 'INSUFFICIENT_STOCK', sku: 'SKU-B', locationId: 'wh-1', requested: 5, available: 4 },
    });
    expect(decision).not.toHaveProperty('reservation');
    expect(decision).not.toHaveProperty('stock');
  });

  it('names the first line that lacks stock when several do', () => {
    const items = [item({ onHand: 10 }), item({}), item({})];
    expect(decidePlace(placeCommand(threeLines), initialState(), items)).toEqual({
      kind: 'refused',
      refusal: { reason: 'INSUFFICIENT_STOCK', sku: 'SKU-B', locationId: 'wh-1', requested: 5, available: 0 },
    });
  });

  it('refuses a line whose item was not loaded: an unknown item has nothing available', () => {
    expect(decidePlace(placeCommand(threeLines), initialState(), [item({ onHand: 10 }), item({ onHand: 10 })])).toEqual(
      {
        kind: 'refused',
        refusal: { reason: 'INSUFFICIENT_STOCK', sku: 'SKU-A', locationId: 'store-7', requested: 1, available: 0 },
      },
    );
  });

  it('honours safety stock on every line', () => {
    const items = [item({ onHand: 10 }), item({ onHand: 9 }), item({ onHand: 10 })];
    // line 2: 9 − 5 safety = 4 < 5
    expect(decidePlace(placeCommand(threeLines, 5), initialState(), items)).toEqual({
      kind: 'refused',
      refusal: { reason: 'INSUFFICIENT_STOCK', sku: 'SKU-B', locationId: 'wh-1', requested: 5, available: 4 },
    });
  });

  it('keeps safetyStock out of the ReservationPlaced event', () => {
    const decision = decidePlace(placeCommand([line('SKU-A', 'wh-1', 1)], 2), initialState(), [item({ onHand: 3 })]);
    expect(decision).toMatchObject({ kind: 'accepted', reservation: [{ type: 'ReservationPlaced' }] });
    expect(decision.kind === 'accepted' ? decision.reservation[0]?.data : undefined).not.toHaveProperty('safetyStock');
  });

  it('refuses to place an existing reservation with RESERVATION_EXISTS before looking at stock', () => {
    const existing = reservationAfter([placedEvent(threeLines)]);
    expect(decidePlace(placeCommand(threeLines), existing, [])).toEqual({
      kind: 'refused',
      refusal: { reason: 'RESERVATION_EXISTS', reservationId: ID, status: 'PENDING' },
    });
  });

  describe('two lines on the same stock item', () => {
    const twice = [line('SKU-A', 'wh-1', 3), line('SKU-A', 'wh-1', 3)];

    it('refuses when the lines together exceed available stock, though each alone would fit', () => {
      const same = item({ onHand: 5 });
      expect(decidePlace(placeCommand(twice), initialState(), [same, same])).toEqual({
        kind: 'refused',
        refusal: { reason: 'INSUFFICIENT_STOCK', sku: 'SKU-A', locationId: 'wh-1', requested: 3, available: 2 },
      });
    });

    it('gives the later line the levels after the earlier one', () => {
      const same = item({ onHand: 6 });
      expect(decidePlace(placeCommand(twice), initialState(), [same, same])).toEqual({
        kind: 'accepted',
        reservation: [placedEvent(twice)],
        stock: [reservedEvent(3, { onHand: 6, reserved: 3 }), reservedEvent(3, { onHand: 6, reserved: 6 })],
      });
    });

    it('does not confuse a SKU at another location with the same item', () => {
      const lines = [line('SKU-A', 'wh-1', 3), line('SKU-A', 'wh-2', 3)];
      const decision = decidePlace(placeCommand(lines), initialState(), [item({ onHand: 3 }), item({ onHand: 3 })]);
      expect(decision.kind).toBe('accepted');
    });
  });
});

describe('decideTransition: each line follows the reservation', () => {
  const lines = [line('SKU-A', 'wh-1', 2), line('SKU-B', 'wh-2', 5)];
  const pending = reservationAfter([placedEvent(lines)]);
  const confirmed = reservationAfter([placedEvent(lines), confirmedEvent]);
  // Item levels while the reservation is pending (held as reserved) and confirmed (held as committed).
  const heldReserved = [item({ onHand: 10, reserved: 3 }), item({ onHand: 5, reserved: 5 })];
  const heldCommitted = [item({ onHand: 10, reserved: 1, committed: 2 }), item({ onHand: 5, committed: 5 })];

  it("confirm commits every line's reserved units", () => {
    expect(
      decideTransition(
        { type: 'ConfirmReservation', data: { orderRef: 'order-1', now: BEFORE } },
        pending,
        heldReserved,
      ),
    ).toEqual({
      kind: 'accepted',
      reservation: [confirmedEvent],
      stock: [
        [
          {
            type: 'ReservedStockCommitted',
            data: { reservationId: ID, quantity: 2, levelsAfter: L({ onHand: 10, reserved: 1, committed: 2 }) },
          },
        ],
        [
          {
            type: 'ReservedStockCommitted',
            data: { reservationId: ID, quantity: 5, levelsAfter: L({ onHand: 5, committed: 5 }) },
          },
        ],
      ],
    });
  });

  it("fulfil ships every line's committed units", () => {
    expect(
      decideTransition({ type: 'FulfilReservation', data: { shipmentRef: 'ship-1' } }, confirmed, heldCommitted),
    ).toEqual({
      kind: 'accepted',
      reservation: [{ type: 'ReservationFulfilled', data: { reservationId: ID, shipmentRef: 'ship-1' } }],
      stock: [
        [
          {
            type: 'StockShipped',
            data: { reservationId: ID, quantity: 2, shipmentRef: 'ship-1', levelsAfter: L({ onHand: 8, reserved: 1 }) },
          },
        ],
        [
          {
            type: 'StockShipped',
            data: { reservationId: ID, quantity: 5, shipmentRef: 'ship-1', levelsAfter: L({ onHand: 0 }) },
          },
        ],
      ],
    });
  });

  it('release of a pending reservation gives the units back from RESERVED', () => {
    const release = { type: 'ReleaseReservation', data: { reason: 'cart abandoned' } } as const;
    expect(decideTransition(release, pending, heldReserved)).toEqual({
      kind: 'accepted',
      reservation: [
        {
          type: 'ReservationReleased',
          data: { reservationId: ID, reason: 'cart abandoned', previousStatus: 'PENDING' },
        },
      ],
      stock: [
        [
          {
            type: 'ReservedStockReleased',
            data: {
              reservationId: ID,
              quantity: 2,
              from: 'RESERVED',
              reason: 'RELEASED',
              levelsAfter: L({ onHand: 10, reserved: 1 }),
            },
          },
        ],
        [
          {
            type: 'ReservedStockReleased',
            data: {
              reservationId: ID,
              quantity: 5,
              from: 'RESERVED',
              reason: 'RELEASED',
              levelsAfter: L({ onHand: 5 }),
            },
          },
        ],
      ],
    });
  });

  it('release of a confirmed reservation gives the units back from COMMITTED', () => {
    const release = { type: 'ReleaseReservation', data: { reason: 'order cancelled' } } as const;
    expect(decideTransition(release, confirmed, heldCommitted)).toEqual({
      kind: 'accepted',
      reservation: [
        {
          type: 'ReservationReleased',
          data: { reservationId: ID, reason: 'order cancelled', previousStatus: 'CONFIRMED' },
        },
      ],
      stock: [
        [
          {
            type: 'ReservedStockReleased',
            data: {
              reservationId: ID,
              quantity: 2,
              from: 'COMMITTED',
              reason: 'RELEASED',
              levelsAfter: L({ onHand: 10, reserved: 1 }),
            },
          },
        ],
        [
          {
            type: 'ReservedStockReleased',
            data: {
              reservationId: ID,
              quantity: 5,
              from: 'COMMITTED',
              reason: 'RELEASED',
              levelsAfter: L({ onHand: 5 }),
            },
          },
        ],
      ],
    });
  });

  it('expiry gives the units back from RESERVED with reason EXPIRED', () => {
    expect(decideTransition({ type: 'ExpireReservation', data: { now: LATER } }, pending, heldReserved)).toEqual({
      kind: 'accepted',
      reservation: [{ type: 'ReservationExpired', data: { reservationId: ID, expiresAt: EXPIRES } }],
      stock: [
        [
          {
            type: 'ReservedStockReleased',
            data: {
              reservationId: ID,
              quantity: 2,
              from: 'RESERVED',
              reason: 'EXPIRED',
              levelsAfter: L({ onHand: 10, reserved: 1 }),
            },
          },
        ],
        [
          {
            type: 'ReservedStockReleased',
            data: {
              reservationId: ID,
              quantity: 5,
              from: 'RESERVED',
              reason: 'EXPIRED',
              levelsAfter: L({ onHand: 5 }),
            },
          },
        ],
      ],
    });
  });

  it('nothing to do on the reservation means no stock movement either', () => {
    const empty = { kind: 'accepted', reservation: [], stock: [] };
    expect(decideTransition({ type: 'ExpireReservation', data: { now: BEFORE } }, pending, heldReserved)).toEqual(
      empty,
    );
    expect(
      decideTransition({ type: 'ConfirmReservation', data: { orderRef: '', now: LATER } }, confirmed, heldCommitted),
    ).toEqual(empty);
    expect(decideTransition({ type: 'ExpireReservation', data: { now: LATER } }, confirmed, heldCommitted)).toEqual(
      empty,
    );
  });

  it('passes a reservation refusal through with no stock movement', () => {
    expect(decideTransition({ type: 'FulfilReservation', data: { shipmentRef: 's' } }, pending, heldReserved)).toEqual({
      kind: 'refused',
      refusal: { reason: 'RESERVATION_NOT_CONFIRMED', reservationId: ID, status: 'PENDING' },
    });
    expect(
      decideTransition({ type: 'ConfirmReservation', data: { orderRef: '', now: LATER } }, pending, heldReserved),
    ).toEqual({
      kind: 'refused',
      refusal: { reason: 'RESERVATION_EXPIRED', reservationId: ID, status: 'PENDING' },
    });
    expect(decideTransition({ type: 'ReleaseReservation', data: { reason: 'x' } }, initialState(), [])).toEqual({
      kind: 'refused',
      refusal: { reason: 'RESERVATION_NOT_FOUND', reservationId: '', status: 'NONE' },
    });
  });

  it('throws LEVEL_WOULD_GO_NEGATIVE when the stock items do not hold the reservation', () => {
    expectInvariant(
      () =>
        decideTransition({ type: 'ConfirmReservation', data: { orderRef: '', now: BEFORE } }, pending, [
          heldReserved[0] ?? item({}),
          item({ onHand: 9 }),
        ]),
      'LEVEL_WOULD_GO_NEGATIVE',
    );
  });

  it('two lines on the same item move it one after the other', () => {
    const twice = [line('SKU-A', 'wh-1', 3), line('SKU-A', 'wh-1', 3)];
    const held = item({ onHand: 6, reserved: 6 });
    const decision = decideTransition(
      { type: 'ConfirmReservation', data: { orderRef: '', now: BEFORE } },
      reservationAfter([placedEvent(twice)]),
      [held, held],
    );
    expect(decision).toMatchObject({
      kind: 'accepted',
      stock: [
        [
          {
            type: 'ReservedStockCommitted',
            data: { quantity: 3, levelsAfter: L({ onHand: 6, reserved: 3, committed: 3 }) },
          },
        ],
        [{ type: 'ReservedStockCommitted', data: { quantity: 3, levelsAfter: L({ onHand: 6, committed: 6 }) } }],
      ],
    });
  });
});
