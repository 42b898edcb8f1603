import { describe, expect, it } from 'vitest';
import { deciderSpec } from '../../../../test/support/decider.js';
import { zeroLevels } from './levels.js';
import { decide, deltaOf, evolve, initialState } from './stockItem.js';
import type { Levels } from './levels.js';
import type { StockItemEvent } from './stockItem.js';

const spec = deciderSpec({ decide, evolve, initialState });
const L = (partial: Partial<Levels>): Levels => ({ ...zeroLevels(), ...partial });

// Given-events built by hand, with the levels they would carry.
const received = (quantity: number, levelsAfter: Partial<Levels>): StockItemEvent => ({
  type: 'StockReceived',
  data: {
    movementId: `m-${quantity}`,
    quantity,
    unit: 'each',
    unitQuantity: quantity,
    reference: 'po-1',
    levelsAfter: L(levelsAfter),
  },
});
const reserved = (reservationId: string, quantity: number, levelsAfter: Partial<Levels>): StockItemEvent => ({
  type: 'StockReserved',
  data: { reservationId, quantity, levelsAfter: L(levelsAfter) },
});
const committed = (reservationId: string, quantity: number, levelsAfter: Partial<Levels>): StockItemEvent => ({
  type: 'ReservedStockCommitted',
  data: { reservationId, quantity, levelsAfter: L(levelsAfter) },
});

const receive = (quantity: number) =>
  ({
    type: 'ReceiveStock',
    data: { movementId: 'm-new', quantity, unit: 'box', unitQuantity: quantity / 12, reference: 'po-2' },
  }) as const;
const reserve = (quantity: number, safetyStock = 0) =>
  ({ type: 'ReserveStock', data: { reservationId: 'r-1', quantity, safetyStock } }) as const;
const commit = (quantity: number) =>
  ({ type: 'CommitReservedStock', data: { reservationId: 'r-1', quantity } }) as const;
const release = (quantity: number, from: 'RESERVED' | 'COMMITTED', reason: 'RELEASED' | 'EXPIRED' = 'RELEASED') =>
  ({ type: 'ReleaseStock', data: { reservationId: 'r-1', quantity, from, reason } }) as const;
const ship = (quantity: number) =>
  ({ type: 'ShipCommittedStock', data: { reservationId: 'r-1', quantity, shipmentRef: 'sh-1' } }) as const;

// 10 on hand, 3 reserved for r-1, 2 committed for r-0.
const tenOnHandThreeReservedTwoCommitted: StockItemEvent[] = [
  received(10, { onHand: 10 }),
  reserved('r-0', 2, { onHand: 10, reserved: 2 }),
  committed('r-0', 2, { onHand: 10, committed: 2 }),
  reserved('r-1', 3, { onHand: 10, reserved: 3, committed: 2 }),
];

describe('StockItem', () => {
  describe('initial state and evolve', () => {
    it('starts with every level at zero', () => {
      expect(initialState()).toEqual({ levels: zeroLevels() });
    });

    it('folds events into levels', () => {
      expect(spec.given(tenOnHandThreeReservedTwoCommitted).state.levels).toEqual(
        L({ onHand: 10, reserved: 3, committed: 2 }),
      );
    });

    it('moves levels by the event delta, not by the levelsAfter it carries', () => {
      // Stale levelsAfter must not leak into the state: evolve is a fold of deltas.
      const state = evolve({ levels: L({ onHand: 4 }) }, received(6, { onHand: 999 }));
      expect(state.levels).toEqual(L({ onHand: 10 }));
    });

    it.each([
      ['a receipt raises on hand', received(5, {}), { onHand: 5 }],
      ['a reservation raises reserved only', reserved('r', 5, {}), { reserved: 5 }],
      ['a commit moves units from reserved to committed', committed('r', 5, {}), { reserved: -5, committed: 5 }],
    ] as const)('%s', (_rule, event, delta) => {
      expect(deltaOf(event)).toEqual(delta);
    });

    it('a release from RESERVED lowers reserved; from COMMITTED lowers committed', () => {
      const base = { reservationId: 'r', quantity: 4, reason: 'RELEASED', levelsAfter: zeroLevels() } as const;
      expect(deltaOf({ type: 'ReservedStockReleased', data: { ...base, from: 'RESERVED' } })).toEqual({ reserved: -4 });
      expect(deltaOf({ type: 'ReservedStockReleased', data: { ...base, from: 'COMMITTED' } })).toEqual({
        committed: -4,
      });
    });

    it('shipping lowers on hand and committed together', () => {
      expect(
        deltaOf({
          type: 'StockShipped',
          data: { reservationId: 'r', quantity: 4, shipmentRef: 's', levelsAfter: zeroLevels() },
        }),
      ).toEqual({ onHand: -4, committed: -4 });
    });
  });

  describe('ReceiveStock', () => {
    it('adds received units to on hand, carrying unit, reference and the levels after', () => {
      spec
        .given([received(10, { onHand: 10 })])
        .when(receive(24))
        .thenEvents([
          {
            type: 'StockReceived',
            data: {
              movementId: 'm-new',
              quantity: 24,
              unit: 'box',
              unitQuantity: 2,
              reference: 'po-2',
              levelsAfter: L({ onHand: 34 }),
            },
          },
        ]);
    });

    it('accepts a first receipt on an untouched item', () => {
      const [event] = spec
        .given([])
        .when(receive(12))
        .thenEvents([
          {
            type: 'StockReceived',
            data: {
              movementId: 'm-new',
              quantity: 12,
              unit: 'box',
              unitQuantity: 1,
              reference: 'po-2',
              levelsAfter: L({ onHand: 12 }),
            },
          },
        ]);
      expect(event?.data.levelsAfter).toEqual(evolve(initialState(), event as StockItemEvent).levels);
    });

    it('keeps holds untouched when stock arrives', () => {
      spec
        .given(tenOnHandThreeReservedTwoCommitted)
        .when(receive(5))
        .thenEvents([
          {
            type: 'StockReceived',
            data: {
              movementId: 'm-new',
              quantity: 5,
              unit: 'box',
              unitQuantity: 5 / 12,
              reference: 'po-2',
              levelsAfter: L({ onHand: 15, reserved: 3, committed: 2 }),
            },
          },
        ]);
    });

    describe('against an expectation', () => {
      const expected = (expectationId: string, quantity: number, levelsAfter: Partial<Levels>): StockItemEvent => ({
        type: 'StockExpected',
        data: {
          movementId: expectationId,
          quantity,
          unit: 'each',
          unitQuantity: quantity,
          reference: 'po-9',
          expectedAt: null,
          levelsAfter: L(levelsAfter),
        },
      });
      const receiveAgainst = (expectationId: string, quantity: number) =>
        ({
          type: 'ReceiveStock',
          data: {
            movementId: 'm-new',
            quantity,
            unit: 'each',
            unitQuantity: quantity,
            reference: 'po-9',
            expectationId,
          },
        }) as const;
      const receivedAgainst = (
        expectationId: string,
        quantity: number,
        clearedInTransit: number,
        levelsAfter: Partial<Levels>,
      ): StockItemEvent => ({
        type: 'StockReceived',
        data: {
          movementId: 'm-new',
          quantity,
          unit: 'each',
          unitQuantity: quantity,
          reference: 'po-9',
          expectationId,
          clearedInTransit,
          levelsAfter: L(levelsAfter),
        },
      });
      const twentyExpected = [expected('exp-1', 20, { inTransit: 20 })];
      const after = (given: StockItemEvent[], decided: StockItemEvent[]) =>
        [...given, ...decided].reduce(evolve, initialState());

      it('a full receipt against an expectation moves it from in transit to on hand and closes it', () => {
        const decided = spec
          .given(twentyExpected)
          .when(receiveAgainst('exp-1', 20))
          .thenEvents([receivedAgainst('exp-1', 20, 20, { onHand: 20 })]);
        expect(after(twentyExpected, decided)).toStrictEqual({ levels: L({ onHand: 20 }) });
      });

      it('a partial receipt against an expectation leaves the rest in transit', () => {
        const decided = spec
          .given(twentyExpected)
          .when(receiveAgainst('exp-1', 12))
          .thenEvents([receivedAgainst('exp-1', 12, 12, { onHand: 12, inTransit: 8 })]);
        expect(after(twentyExpected, decided)).toStrictEqual({
          levels: L({ onHand: 12, inTransit: 8 }),
          inbound: { 'exp-1': 8 },
        });
      });

      it('the last partial receipt closes the expectation', () => {
        const given = [...twentyExpected, receivedAgainst('exp-1', 12, 12, { onHand: 12, inTransit: 8 })];
        const decided = spec
          .given(given)
          .when(receiveAgainst('exp-1', 8))
          .thenEvents([receivedAgainst('exp-1', 8, 8, { onHand: 20 })]);
        expect(after(given, decided)).toStrictEqual({ levels: L({ onHand: 20 }) });
      });

      it('a receipt above what was expected clears only the expected units from in transit', () => {
        const decided = spec
          .given(twentyExpected)
          .when(receiveAgainst('exp-1', 25))
          .thenEvents([receivedAgainst('exp-1', 25, 20, { onHand: 25 })]);
        expect(after(twentyExpected, decided)).toStrictEqual({ levels: L({ onHand: 25 }) });
      });

      it('a receipt against one expectation leaves the others open', () => {
        const given = [...twentyExpected, expected('exp-2', 5, { inTransit: 25 })];
        const decided = spec
          .given(given)
          .when(receiveAgainst('exp-2', 5))
          .thenEvents([receivedAgainst('exp-2', 5, 5, { onHand: 5, inTransit: 20 })]);
        expect(after(given, decided).inbound).toStrictEqual({ 'exp-1': 20 });
      });

      it('refuses a receipt against an expectation that was never announced', () => {
        spec
          .given(twentyExpected)
          .when(receiveAgainst('exp-9', 1))
          .thenRefused({ reason: 'EXPECTATION_NOT_OPEN', expectationId: 'exp-9' });
      });

      it.each(['constructor', 'toString', '__proto__'])(
        'refuses a receipt against "%s", an id never announced that names a built-in',
        (id) => {
          spec
            .given(twentyExpected)
            .when(receiveAgainst(id, 1))
            .thenRefused({ reason: 'EXPECTATION_NOT_OPEN', expectationId: id });
        },
      );

      it('receives against an expectation whose id names a built-in like any other', () => {
        const given = [expected('constructor', 4, { inTransit: 4 })];
        const decided = spec
          .given(given)
          .when(receiveAgainst('constructor', 3))
          .thenEvents([receivedAgainst('constructor', 3, 3, { onHand: 3, inTransit: 1 })]);
        expect(after(given, decided).inbound).toStrictEqual({ constructor: 1 });
      });

      it('refuses a receipt against an expectation already received in full', () => {
        const given = [...twentyExpected, receivedAgainst('exp-1', 20, 20, { onHand: 20 })];
        spec
          .given(given)
          .when(receiveAgainst('exp-1', 1))
          .thenRefused({ reason: 'EXPECTATION_NOT_OPEN', expectationId: 'exp-1' });
      });
    });

    it.each([0, -3])('throws NON_POSITIVE_QUANTITY for a receipt of %i', (quantity) => {
      spec
        .given([received(10, { onHand: 10 })])
        .when(receive(quantity))
        .thenThrows('NON_POSITIVE_QUANTITY');
    });
  });

  describe('ReserveStock', () => {
    it('reserves when the quantity is available, keeping the units on hand', () => {
      spec
        .given([received(10, { onHand: 10 })])
        .when(reserve(4))
        .thenEvents([
          {
            type: 'StockReserved',
            data: { reservationId: 'r-1', quantity: 4, levelsAfter: L({ onHand: 10, reserved: 4 }) },
          },
        ]);
    });

    it('reserves exactly the last available unit', () => {
      // available = 10 − 3 − 2 = 5
      spec
        .given(tenOnHandThreeReservedTwoCommitted)
        .when(reserve(5))
        .thenEvents([
          {
            type: 'StockReserved',
            data: { reservationId: 'r-1', quantity: 5, levelsAfter: L({ onHand: 10, reserved: 8, committed: 2 }) },
          },
        ]);
    });

    it('refuses a reservation that exceeds available stock, counting reserved and committed units', () => {
      spec.given(tenOnHandThreeReservedTwoCommitted).when(reserve(6)).thenRefused({
        reason: 'INSUFFICIENT_STOCK',
        requested: 6,
        available: 5,
      });
    });

    it('refuses a reservation on an item that never received stock', () => {
      spec.given([]).when(reserve(1)).thenRefused({ reason: 'INSUFFICIENT_STOCK', requested: 1, available: 0 });
    });

    it('honours safety stock: units kept back are not available', () => {
      // available = 10 − 3 − 2 − 2 = 3
      spec.given(tenOnHandThreeReservedTwoCommitted).when(reserve(4, 2)).thenRefused({
        reason: 'INSUFFICIENT_STOCK',
        requested: 4,
        available: 3,
      });
      spec
        .given(tenOnHandThreeReservedTwoCommitted)
        .when(reserve(3, 2))
        .thenEvents([
          {
            type: 'StockReserved',
            data: { reservationId: 'r-1', quantity: 3, levelsAfter: L({ onHand: 10, reserved: 6, committed: 2 }) },
          },
        ]);
    });

    it('reports zero available (never negative) when safety stock exceeds what is left', () => {
      spec
        .given([received(3, { onHand: 3 })])
        .when(reserve(1, 5))
        .thenRefused({
          reason: 'INSUFFICIENT_STOCK',
          requested: 1,
          available: 0,
        });
    });

    it('refuses one unit more than is on hand', () => {
      spec
        .given([received(2, { onHand: 2 })])
        .when(reserve(3))
        .thenRefused({ reason: 'INSUFFICIENT_STOCK', requested: 3, available: 2 });
    });

    it.each([0, -1])('throws NON_POSITIVE_QUANTITY for a reservation of %i', (quantity) => {
      spec
        .given([received(10, { onHand: 10 })])
        .when(reserve(quantity))
        .thenThrows('NON_POSITIVE_QUANTITY');
    });

    it('throws NON_POSITIVE_QUANTITY for a reservation of 0 even with no stock at all', () => {
      spec.given([]).when(reserve(0)).thenThrows('NON_POSITIVE_QUANTITY');
    });
  });

  describe('CommitReservedStock', () => {
    it('moves reserved units to committed', () => {
      spec
        .given(tenOnHandThreeReservedTwoCommitted)
        .when(commit(3))
        .thenEvents([
          {
            type: 'ReservedStockCommitted',
            data: { reservationId: 'r-1', quantity: 3, levelsAfter: L({ onHand: 10, committed: 5 }) },
          },
        ]);
    });

    it('throws LEVEL_WOULD_GO_NEGATIVE when committing more than is reserved', () => {
      spec.given(tenOnHandThreeReservedTwoCommitted).when(commit(4)).thenThrows('LEVEL_WOULD_GO_NEGATIVE');
    });

    it('throws NON_POSITIVE_QUANTITY for a commit of 0', () => {
      spec.given(tenOnHandThreeReservedTwoCommitted).when(commit(0)).thenThrows('NON_POSITIVE_QUANTITY');
    });
  });

  describe('ReleaseStock', () => {
    it('releases a pending hold from reserved', () => {
      spec
        .given(tenOnHandThreeReservedTwoCommitted)
        .when(release(3, 'RESERVED'))
        .thenEvents([
          {
            type: 'ReservedStockReleased',
            data: {
              reservationId: 'r-1',
              quantity: 3,
              from: 'RESERVED',
              reason: 'RELEASED',
              levelsAfter: L({ onHand: 10, committed: 2 }),
            },
          },
        ]);
    });

    it('releases a confirmed hold from committed', () => {
      spec
        .given(tenOnHandThreeReservedTwoCommitted)
        .when(release(2, 'COMMITTED'))
        .thenEvents([
          {
            type: 'ReservedStockReleased',
            data: {
              reservationId: 'r-1',
              quantity: 2,
              from: 'COMMITTED',
              reason: 'RELEASED',
              levelsAfter: L({ onHand: 10, reserved: 3 }),
            },
          },
        ]);
    });

    it('records an expiry as a release with reason EXPIRED', () => {
      spec
        .given(tenOnHandThreeReservedTwoCommitted)
        .when(release(3, 'RESERVED', 'EXPIRED'))
        .thenEvents([
          {
            type: 'ReservedStockReleased',
            data: {
              reservationId: 'r-1',
              quantity: 3,
              from: 'RESERVED',
              reason: 'EXPIRED',
              levelsAfter: L({ onHand: 10, committed: 2 }),
            },
          },
        ]);
    });

    it('throws LEVEL_WOULD_GO_NEGATIVE when releasing more than is reserved', () => {
      spec.given(tenOnHandThreeReservedTwoCommitted).when(release(4, 'RESERVED')).thenThrows('LEVEL_WOULD_GO_NEGATIVE');
    });

    it('throws LEVEL_WOULD_GO_NEGATIVE when releasing more than is committed', () => {
      spec
        .given(tenOnHandThreeReservedTwoCommitted)
        .when(release(3, 'COMMITTED'))
        .thenThrows('LEVEL_WOULD_GO_NEGATIVE');
    });

    it('throws NON_POSITIVE_QUANTITY for a release of a negative quantity', () => {
      spec.given(tenOnHandThreeReservedTwoCommitted).when(release(-1, 'RESERVED')).thenThrows('NON_POSITIVE_QUANTITY');
    });
  });

  describe('ShipCommittedStock', () => {
    it('ships committed units: they leave on hand and committed together', () => {
      spec
        .given(tenOnHandThreeReservedTwoCommitted)
        .when(ship(2))
        .thenEvents([
          {
            type: 'StockShipped',
            data: {
              reservationId: 'r-1',
              quantity: 2,
              shipmentRef: 'sh-1',
              levelsAfter: L({ onHand: 8, reserved: 3 }),
            },
          },
        ]);
    });

    it('shipping leaves available stock unchanged', () => {
      const before = spec.given(tenOnHandThreeReservedTwoCommitted);
      const decision = decide(ship(2), before.state);
      expect(decision.kind).toBe('accepted');
      // 10 − 3 − 2 = 5 before; 8 − 3 − 0 = 5 after
      spec
        .given([...tenOnHandThreeReservedTwoCommitted, ...(decision.kind === 'accepted' ? decision.events : [])])
        .when(reserve(6))
        .thenRefused({ reason: 'INSUFFICIENT_STOCK', requested: 6, available: 5 });
    });

    it('refuses to ship committed units a count found missing since', () => {
      const counted: StockItemEvent = {
        type: 'StockCounted',
        data: {
          movementId: 'count-1',
          counted: 1,
          unit: 'each',
          unitQuantity: 1,
          reason: 'cycle count',
          previousOnHand: 10,
          difference: -9,
          quantity: 9,
          levelsAfter: L({ onHand: 1, reserved: 3, committed: 2 }),
        },
      };
      spec
        .given([...tenOnHandThreeReservedTwoCommitted, counted])
        .when(ship(2))
        .thenRefused({ reason: 'NOT_ENOUGH_ON_HAND', requested: 2, onHand: 1 });
    });

    it('throws LEVEL_WOULD_GO_NEGATIVE when shipping more than is committed, even with stock on hand', () => {
      spec.given(tenOnHandThreeReservedTwoCommitted).when(ship(3)).thenThrows('LEVEL_WOULD_GO_NEGATIVE');
    });

    it('throws NON_POSITIVE_QUANTITY for a shipment of 0', () => {
      spec.given(tenOnHandThreeReservedTwoCommitted).when(ship(0)).thenThrows('NON_POSITIVE_QUANTITY');
    });
  });

  describe('levelsAfter', () => {
    it('equals the fold of the stream after every accepted command', () => {
      const commands = [
        receive(10),
        reserve(4),
        commit(3),
        release(1, 'RESERVED'),
        ship(2),
        release(1, 'COMMITTED'),
        receive(5),
      ];
      const stream: StockItemEvent[] = [];
      let state = initialState();
      for (const command of commands) {
        const decision = decide(command, state);
        expect(decision.kind).toBe('accepted');
        if (decision.kind !== 'accepted') return;
        for (const event of decision.events) {
          state = evolve(state, event);
          stream.push(event);
          expect(event.data.levelsAfter).toEqual(state.levels);
        }
      }
      expect(stream.reduce(evolve, initialState()).levels).toEqual(L({ onHand: 13 }));
    });
  });
});
