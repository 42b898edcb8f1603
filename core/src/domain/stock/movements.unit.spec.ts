// Given / when / then for the movements beyond reserve and ship: sales, counts, write-offs, sensor
// deltas, supplier expectations, transfers, returns and quality checks.
import { describe, expect, it } from 'vitest';
import { deciderSpec } from '../../../../test/support/decider.js';
import { zeroLevels } from './levels.js';
import { decide, evolve, initialState } from './stockItem.js';
import type { Levels } from './levels.js';
import type { StockItem, StockItemCommand, StockItemEvent, WriteOffKind } from './stockItem.js';

const spec = deciderSpec({ decide, evolve, initialState });
const L = (partial: Partial<Levels>): Levels => ({ ...zeroLevels(), ...partial });
const each = (quantity: number) => ({ unit: 'each', unitQuantity: quantity });
/** The state after the given events and then the decided ones: where the maps appear and disappear. */
const after = (given: StockItemEvent[], decided: StockItemEvent[]): StockItem =>
  [...given, ...decided].reduce(evolve, initialState());

const DAY_MS = 24 * 3600 * 1000;
const NOW = '2026-03-31T12:00:00.000Z';
const before = (ms: number): string => new Date(Date.parse(NOW) - ms).toISOString();

// Given-events built by hand, with the levels they would carry.
const received = (quantity: number, levelsAfter: Partial<Levels>): StockItemEvent => ({
  type: 'StockReceived',
  data: { movementId: `m-${quantity}`, quantity, ...each(quantity), reference: 'po-1', levelsAfter: L(levelsAfter) },
});
const reserved = (reservationId: string, quantity: number, levelsAfter: Partial<Levels>): StockItemEvent => ({
  type: 'StockReserved',
  data: { reservationId, quantity, levelsAfter: L(levelsAfter) },
});
const committed = (reservationId: string, quantity: number, levelsAfter: Partial<Levels>): StockItemEvent => ({
  type: 'ReservedStockCommitted',
  data: { reservationId, quantity, levelsAfter: L(levelsAfter) },
});
const expected = (expectationId: string, quantity: number, levelsAfter: Partial<Levels>): StockItemEvent => ({
  type: 'StockExpected',
  data: {
    movementId: expectationId,
    quantity,
    ...each(quantity),
    reference: 'po-9',
    expectedAt: null,
    levelsAfter: L(levelsAfter),
  },
});
const inTransit = (transferId: string, quantity: number, levelsAfter: Partial<Levels>): StockItemEvent => ({
  type: 'TransferInTransit',
  data: { transferId, fromLocationId: 'wh-1', quantity, levelsAfter: L(levelsAfter) },
});
const transferReceived = (
  transferId: string,
  quantity: number,
  got: number,
  levelsAfter: Partial<Levels>,
): StockItemEvent => ({
  type: 'TransferReceived',
  data: {
    movementId: `tr-${transferId}`,
    transferId,
    fromLocationId: 'wh-1',
    quantity,
    received: got,
    shortage: quantity - got,
    ...each(got),
    reason: 'arrived',
    levelsAfter: L(levelsAfter),
  },
});
const returnedToQuarantine = (quantity: number, levelsAfter: Partial<Levels>): StockItemEvent => ({
  type: 'StockReturned',
  data: {
    movementId: 'ret-0',
    quantity,
    ...each(quantity),
    reference: 'o-0',
    reason: 'unwanted',
    soldAt: before(DAY_MS),
    quarantined: true,
    levelsAfter: L(levelsAfter),
  },
});

// 10 on hand, 3 reserved for r-1, 2 committed for r-0: 5 available.
const tenOnHandThreeReservedTwoCommitted: StockItemEvent[] = [
  received(10, { onHand: 10 }),
  reserved('r-0', 2, { onHand: 10, reserved: 2 }),
  committed('r-0', 2, { onHand: 10, committed: 2 }),
  reserved('r-1', 3, { onHand: 10, reserved: 3, committed: 2 }),
];
const tenOnHand = [received(10, { onHand: 10 })];

const reserve = (quantity: number): StockItemCommand => ({
  type: 'ReserveStock',
  data: { reservationId: 'r-9', quantity, safetyStock: 0 },
});
const sell = (quantity: number, safetyStock = 0): StockItemCommand => ({
  type: 'SellStock',
  data: { movementId: 'sale-1', quantity, ...each(quantity), reference: 'pos-1', safetyStock },
});
const count = (counted: number): StockItemCommand => ({
  type: 'CountStock',
  data: { movementId: 'count-1', counted, ...each(counted), reason: 'cycle count' },
});
const writeOff = (quantity: number, kind: WriteOffKind = 'DAMAGE'): StockItemCommand => ({
  type: 'WriteOffStock',
  data: { movementId: 'wo-1', kind, quantity, ...each(quantity), reason: 'dropped' },
});
const sensor = (delta: number): StockItemCommand => ({
  type: 'ApplySensorDelta',
  data: { movementId: 'sensor-1', delta, unit: 'each', unitQuantity: delta, reason: 'SENSOR' },
});
const expect_ = (movementId: string, quantity: number): StockItemCommand => ({
  type: 'ExpectStock',
  data: { movementId, quantity, ...each(quantity), reference: 'po-9', expectedAt: '2026-04-02T08:00:00.000Z' },
});
const dispatch = (quantity: number, safetyStock = 0): StockItemCommand => ({
  type: 'DispatchTransfer',
  data: {
    transferId: 't-1',
    toLocationId: 'store-1',
    quantity,
    unit: 'box',
    unitQuantity: quantity / 12,
    reference: 'tr-ref',
    reason: 'rebalance',
    safetyStock,
  },
});
const expectTransfer = (transferId: string, quantity: number): StockItemCommand => ({
  type: 'ExpectTransfer',
  data: { transferId, fromLocationId: 'wh-1', quantity },
});
const receiveTransfer = (transferId: string, got: number): StockItemCommand => ({
  type: 'ReceiveTransfer',
  data: { movementId: 'rt-1', transferId, received: got, ...each(got), reason: 'arrived' },
});
const acceptReturn = (
  quantity: number,
  soldAt: string,
  options: { returnWindowDays?: number; qualityCheckRequired?: boolean } = {},
): StockItemCommand => ({
  type: 'AcceptReturn',
  data: {
    movementId: 'ret-1',
    quantity,
    ...each(quantity),
    reference: 'order-7',
    reason: 'wrong size',
    soldAt,
    now: NOW,
    returnWindowDays: options.returnWindowDays ?? 30,
    qualityCheckRequired: options.qualityCheckRequired ?? true,
  },
});
const qualityCheck = (quantity: number, passed: boolean): StockItemCommand => ({
  type: 'CompleteQualityCheck',
  data: { movementId: 'qc-1', quantity, ...each(quantity), passed, reason: passed ? 'as new' : 'torn seam' },
});

describe('SellStock', () => {
  const sold = (quantity: number, levelsAfter: Partial<Levels>): StockItemEvent => ({
    type: 'StockSold',
    data: { movementId: 'sale-1', quantity, ...each(quantity), reference: 'pos-1', levelsAfter: L(levelsAfter) },
  });

  it('sells from available stock: the units leave on hand', () => {
    spec
      .given(tenOnHand)
      .when(sell(4))
      .thenEvents([sold(4, { onHand: 6 })]);
  });

  it('sells exactly the last available unit, holds and safety stock kept back', () => {
    // available = 10 − 3 − 2 − 2 = 3
    spec
      .given(tenOnHandThreeReservedTwoCommitted)
      .when(sell(3, 2))
      .thenEvents([sold(3, { onHand: 7, reserved: 3, committed: 2 })]);
  });

  it('refuses a sale larger than available, safety stock included', () => {
    spec
      .given(tenOnHandThreeReservedTwoCommitted)
      .when(sell(4, 2))
      .thenRefused({ reason: 'INSUFFICIENT_STOCK', requested: 4, available: 3 });
  });

  it('refuses to sell units promised to reservations even though they are on the shelf', () => {
    spec
      .given(tenOnHandThreeReservedTwoCommitted)
      .when(sell(6))
      .thenRefused({ reason: 'INSUFFICIENT_STOCK', requested: 6, available: 5 });
  });

  it('refuses a sale on an item that never received stock', () => {
    spec.given([]).when(sell(1)).thenRefused({ reason: 'INSUFFICIENT_STOCK', requested: 1, available: 0 });
  });

  it('does not sell quarantined units', () => {
    spec
      .given([returnedToQuarantine(4, { quarantined: 4 })])
      .when(sell(1))
      .thenRefused({ reason: 'INSUFFICIENT_STOCK', requested: 1, available: 0 });
  });

  it('throws NON_POSITIVE_QUANTITY for a sale of 0', () => {
    spec.given(tenOnHand).when(sell(0)).thenThrows('NON_POSITIVE_QUANTITY');
  });
});

describe('CountStock', () => {
  const counted = (n: number, previousOnHand: number, levelsAfter: Partial<Levels>): StockItemEvent => ({
    type: 'StockCounted',
    data: {
      movementId: 'count-1',
      counted: n,
      ...each(n),
      reason: 'cycle count',
      previousOnHand,
      difference: n - previousOnHand,
      quantity: Math.abs(n - previousOnHand),
      levelsAfter: L(levelsAfter),
    },
  });

  it('records a count below on hand as a negative difference and sets on hand to what was counted', () => {
    spec
      .given(tenOnHand)
      .when(count(7))
      .thenEvents([counted(7, 10, { onHand: 7 })]);
  });

  it('records a count above on hand as a positive difference', () => {
    spec
      .given(tenOnHand)
      .when(count(12))
      .thenEvents([counted(12, 10, { onHand: 12 })]);
  });

  it('records a count that matches on hand with a zero difference', () => {
    spec
      .given(tenOnHand)
      .when(count(10))
      .thenEvents([counted(10, 10, { onHand: 10 })]);
  });

  it('records a count of an empty shelf on an untouched item', () => {
    spec
      .given([])
      .when(count(0))
      .thenEvents([counted(0, 0, {})]);
  });

  it('a count below what is held keeps the holds and leaves nothing available, never less than zero', () => {
    const decided = spec
      .given(tenOnHandThreeReservedTwoCommitted)
      .when(count(4))
      .thenEvents([counted(4, 10, { onHand: 4, reserved: 3, committed: 2 })]);
    spec
      .given([...tenOnHandThreeReservedTwoCommitted, ...decided])
      .when(reserve(1))
      .thenRefused({
        reason: 'INSUFFICIENT_STOCK',
        requested: 1,
        available: 0,
      });
  });

  it('counts the shelf only: quarantined units are neither counted nor lost', () => {
    const given = [received(5, { onHand: 5 }), returnedToQuarantine(2, { onHand: 5, quarantined: 2 })];
    spec
      .given(given)
      .when(count(5))
      .thenEvents([counted(5, 5, { onHand: 5, quarantined: 2 })]);
  });

  it('throws LEVEL_WOULD_GO_NEGATIVE for a negative count', () => {
    spec.given(tenOnHand).when(count(-1)).thenThrows('LEVEL_WOULD_GO_NEGATIVE');
  });
});

describe('WriteOffStock', () => {
  const writtenOff = (quantity: number, kind: WriteOffKind, levelsAfter: Partial<Levels>): StockItemEvent => ({
    type: 'StockWrittenOff',
    data: { movementId: 'wo-1', kind, quantity, ...each(quantity), reason: 'dropped', levelsAfter: L(levelsAfter) },
  });

  it('writes damaged units off on hand', () => {
    spec
      .given(tenOnHand)
      .when(writeOff(3))
      .thenEvents([writtenOff(3, 'DAMAGE', { onHand: 7 })]);
  });

  it('writes off shrinkage even of units promised to reservations: what is gone is gone', () => {
    spec
      .given(tenOnHandThreeReservedTwoCommitted)
      .when(writeOff(8, 'SHRINKAGE'))
      .thenEvents([writtenOff(8, 'SHRINKAGE', { onHand: 2, reserved: 3, committed: 2 })]);
  });

  it('writes off everything on hand, down to zero', () => {
    spec
      .given(tenOnHand)
      .when(writeOff(10))
      .thenEvents([writtenOff(10, 'DAMAGE', {})]);
  });

  it('refuses a write-off larger than on hand', () => {
    spec.given(tenOnHand).when(writeOff(11)).thenRefused({ reason: 'NOT_ENOUGH_ON_HAND', requested: 11, onHand: 10 });
  });

  it('refuses to write off quarantined units as if they were on hand (a failed quality check does that)', () => {
    spec
      .given([returnedToQuarantine(3, { quarantined: 3 })])
      .when(writeOff(1))
      .thenRefused({ reason: 'NOT_ENOUGH_ON_HAND', requested: 1, onHand: 0 });
  });

  it('throws NON_POSITIVE_QUANTITY for a write-off of 0', () => {
    spec.given(tenOnHand).when(writeOff(0)).thenThrows('NON_POSITIVE_QUANTITY');
  });
});

describe('ApplySensorDelta', () => {
  const applied = (delta: number, levelsAfter: Partial<Levels>): StockItemEvent => ({
    type: 'SensorDeltaApplied',
    data: {
      movementId: 'sensor-1',
      delta,
      quantity: Math.abs(delta),
      unit: 'each',
      unitQuantity: delta,
      reason: 'SENSOR',
      levelsAfter: L(levelsAfter),
    },
  });

  it('adds the units a sensor saw arrive', () => {
    spec
      .given(tenOnHand)
      .when(sensor(3))
      .thenEvents([applied(3, { onHand: 13 })]);
  });

  it('removes the units a sensor saw leave, recording the signed delta and its size', () => {
    spec
      .given(tenOnHand)
      .when(sensor(-2))
      .thenEvents([applied(-2, { onHand: 8 })]);
  });

  it('removes the last units on hand, even those held', () => {
    spec
      .given(tenOnHandThreeReservedTwoCommitted)
      .when(sensor(-10))
      .thenEvents([applied(-10, { reserved: 3, committed: 2 })]);
  });

  it('refuses a negative delta larger than on hand', () => {
    spec.given(tenOnHand).when(sensor(-11)).thenRefused({ reason: 'NOT_ENOUGH_ON_HAND', requested: 11, onHand: 10 });
  });

  it('throws NON_POSITIVE_QUANTITY for a delta of 0 (nothing seen, nothing to record)', () => {
    spec.given(tenOnHand).when(sensor(0)).thenThrows('NON_POSITIVE_QUANTITY');
  });
});

describe('ExpectStock', () => {
  const expectation = (quantity: number, levelsAfter: Partial<Levels>, movementId = 'exp-1'): StockItemEvent => ({
    type: 'StockExpected',
    data: {
      movementId,
      quantity,
      ...each(quantity),
      reference: 'po-9',
      expectedAt: '2026-04-02T08:00:00.000Z',
      levelsAfter: L(levelsAfter),
    },
  });

  it('puts expected units in transit and opens the expectation', () => {
    const decided = spec
      .given(tenOnHand)
      .when(expect_('exp-1', 20))
      .thenEvents([expectation(20, { onHand: 10, inTransit: 20 })]);
    expect(after(tenOnHand, decided)).toStrictEqual({
      levels: L({ onHand: 10, inTransit: 20 }),
      inbound: { 'exp-1': 20 },
    });
  });

  it('keeps each expectation open on its own, in transit adding up', () => {
    const given = [expected('exp-1', 20, { inTransit: 20 })];
    const decided = spec
      .given(given)
      .when(expect_('exp-2', 5))
      .thenEvents([expectation(5, { inTransit: 25 }, 'exp-2')]);
    expect(after(given, decided).inbound).toStrictEqual({ 'exp-1': 20, 'exp-2': 5 });
  });

  it('does not make expected units available', () => {
    spec
      .given([expected('exp-1', 20, { inTransit: 20 })])
      .when(sell(1))
      .thenRefused({ reason: 'INSUFFICIENT_STOCK', requested: 1, available: 0 });
  });

  it('throws NON_POSITIVE_QUANTITY for an expectation of 0', () => {
    spec.given([]).when(expect_('exp-1', 0)).thenThrows('NON_POSITIVE_QUANTITY');
  });
});

describe('DispatchTransfer (at the source)', () => {
  const dispatched = (quantity: number, levelsAfter: Partial<Levels>): StockItemEvent => ({
    type: 'TransferDispatched',
    data: {
      transferId: 't-1',
      toLocationId: 'store-1',
      quantity,
      unit: 'box',
      unitQuantity: quantity / 12,
      reference: 'tr-ref',
      reason: 'rebalance',
      levelsAfter: L(levelsAfter),
    },
  });

  it('takes available units off on hand, and opens nothing here', () => {
    const given = [received(30, { onHand: 30 })];
    const decided = spec
      .given(given)
      .when(dispatch(24))
      .thenEvents([dispatched(24, { onHand: 6 })]);
    expect(after(given, decided)).toStrictEqual({ levels: L({ onHand: 6 }) });
  });

  it('dispatches exactly what is available, holds and safety stock kept back', () => {
    spec
      .given(tenOnHandThreeReservedTwoCommitted)
      .when(dispatch(4, 1))
      .thenEvents([dispatched(4, { onHand: 6, reserved: 3, committed: 2 })]);
  });

  it('refuses a dispatch larger than available, safety stock included', () => {
    spec
      .given(tenOnHandThreeReservedTwoCommitted)
      .when(dispatch(5, 1))
      .thenRefused({ reason: 'INSUFFICIENT_STOCK', requested: 5, available: 4 });
  });

  it('refuses to dispatch from an item with nothing on hand', () => {
    spec.given([]).when(dispatch(1)).thenRefused({ reason: 'INSUFFICIENT_STOCK', requested: 1, available: 0 });
  });

  it('throws NON_POSITIVE_QUANTITY for a dispatch of 0', () => {
    spec.given(tenOnHand).when(dispatch(0)).thenThrows('NON_POSITIVE_QUANTITY');
  });
});

describe('ExpectTransfer (at the destination)', () => {
  const onTheWay = (transferId: string, quantity: number, levelsAfter: Partial<Levels>): StockItemEvent => ({
    type: 'TransferInTransit',
    data: { transferId, fromLocationId: 'wh-1', quantity, levelsAfter: L(levelsAfter) },
  });

  it('puts the dispatched units in transit here and remembers where they come from', () => {
    const decided = spec
      .given(tenOnHand)
      .when(expectTransfer('t-1', 6))
      .thenEvents([onTheWay('t-1', 6, { onHand: 10, inTransit: 6 })]);
    expect(after(tenOnHand, decided)).toStrictEqual({
      levels: L({ onHand: 10, inTransit: 6 }),
      transfersIn: { 't-1': { quantity: 6, fromLocationId: 'wh-1' } },
    });
  });

  it('tracks two transfers on their way separately', () => {
    const given = [inTransit('t-1', 6, { inTransit: 6 })];
    const decided = spec
      .given(given)
      .when(expectTransfer('t-2', 4))
      .thenEvents([onTheWay('t-2', 4, { inTransit: 10 })]);
    expect(after(given, decided).transfersIn).toStrictEqual({
      't-1': { quantity: 6, fromLocationId: 'wh-1' },
      't-2': { quantity: 4, fromLocationId: 'wh-1' },
    });
  });

  it('throws NON_POSITIVE_QUANTITY for a transfer of 0', () => {
    spec.given([]).when(expectTransfer('t-1', 0)).thenThrows('NON_POSITIVE_QUANTITY');
  });
});

describe('ReceiveTransfer', () => {
  const arrived = (
    quantity: number,
    got: number,
    levelsAfter: Partial<Levels>,
    transferId = 't-1',
  ): StockItemEvent => ({
    type: 'TransferReceived',
    data: {
      movementId: 'rt-1',
      transferId,
      fromLocationId: 'wh-1',
      quantity,
      received: got,
      shortage: quantity - got,
      ...each(got),
      reason: 'arrived',
      levelsAfter: L(levelsAfter),
    },
  });
  const sixOnTheWay = [received(10, { onHand: 10 }), inTransit('t-1', 6, { onHand: 10, inTransit: 6 })];

  it('a complete transfer receipt moves the units from in transit to on hand and closes the transfer', () => {
    const decided = spec
      .given(sixOnTheWay)
      .when(receiveTransfer('t-1', 6))
      .thenEvents([arrived(6, 6, { onHand: 16 })]);
    expect(after(sixOnTheWay, decided)).toStrictEqual({ levels: L({ onHand: 16 }) });
  });

  it('a transfer receipt with a shortage records the discrepancy and closes the transfer', () => {
    // arrived() derives shortage = 6 − 4; the decider must record those 2 and drop them from in transit.
    const decided = spec
      .given(sixOnTheWay)
      .when(receiveTransfer('t-1', 4))
      .thenEvents([arrived(6, 4, { onHand: 14 })]);
    expect(after(sixOnTheWay, decided)).toStrictEqual({ levels: L({ onHand: 14 }) });
  });

  it('a transfer that arrives empty records the whole of it as shortage', () => {
    spec
      .given(sixOnTheWay)
      .when(receiveTransfer('t-1', 0))
      .thenEvents([arrived(6, 0, { onHand: 10 })]);
  });

  it('receiving one transfer leaves the other on its way', () => {
    const given = [...sixOnTheWay, inTransit('t-2', 3, { onHand: 10, inTransit: 9 })];
    const decided = spec
      .given(given)
      .when(receiveTransfer('t-2', 3))
      .thenEvents([arrived(3, 3, { onHand: 13, inTransit: 6 }, 't-2')]);
    expect(after(given, decided).transfersIn).toStrictEqual({ 't-1': { quantity: 6, fromLocationId: 'wh-1' } });
  });

  it('refuses receiving more than was dispatched', () => {
    spec.given(sixOnTheWay).when(receiveTransfer('t-1', 7)).thenRefused({
      reason: 'RECEIVED_MORE_THAN_DISPATCHED',
      transferId: 't-1',
      dispatched: 6,
      received: 7,
    });
  });

  it('refuses a transfer that is not on its way here', () => {
    spec
      .given(sixOnTheWay)
      .when(receiveTransfer('t-9', 1))
      .thenRefused({ reason: 'TRANSFER_NOT_IN_TRANSIT', transferId: 't-9' });
  });

  it.each(['constructor', 'toString', '__proto__'])(
    'refuses transfer "%s", never on its way here, though the id names a built-in',
    (id) => {
      spec
        .given(sixOnTheWay)
        .when(receiveTransfer(id, 1))
        .thenRefused({ reason: 'TRANSFER_NOT_IN_TRANSIT', transferId: id });
    },
  );

  it('refuses receiving a transfer twice, even after a shortage closed it', () => {
    const given = [...sixOnTheWay, transferReceived('t-1', 6, 4, { onHand: 14 })];
    spec
      .given(given)
      .when(receiveTransfer('t-1', 2))
      .thenRefused({ reason: 'TRANSFER_NOT_IN_TRANSIT', transferId: 't-1' });
  });
});

describe('AcceptReturn', () => {
  const returned = (
    quantity: number,
    soldAt: string,
    quarantined: boolean,
    levelsAfter: Partial<Levels>,
  ): StockItemEvent => ({
    type: 'StockReturned',
    data: {
      movementId: 'ret-1',
      quantity,
      ...each(quantity),
      reference: 'order-7',
      reason: 'wrong size',
      soldAt,
      quarantined,
      levelsAfter: L(levelsAfter),
    },
  });
  const tenDaysAgo = before(10 * DAY_MS);

  it('quarantines a return when the tenant requires a quality check: not on hand, not available', () => {
    const decided = spec
      .given(tenOnHand)
      .when(acceptReturn(3, tenDaysAgo))
      .thenEvents([returned(3, tenDaysAgo, true, { onHand: 10, quarantined: 3 })]);
    spec
      .given([...tenOnHand, ...decided])
      .when(sell(11))
      .thenRefused({ reason: 'INSUFFICIENT_STOCK', requested: 11, available: 10 });
  });

  it('puts a return straight back on hand when the tenant requires no quality check', () => {
    spec
      .given(tenOnHand)
      .when(acceptReturn(3, tenDaysAgo, { qualityCheckRequired: false }))
      .thenEvents([returned(3, tenDaysAgo, false, { onHand: 13 })]);
  });

  it('accepts a return on the last instant of the window', () => {
    const soldAt = before(30 * DAY_MS);
    spec
      .given([])
      .when(acceptReturn(1, soldAt))
      .thenEvents([returned(1, soldAt, true, { quarantined: 1 })]);
  });

  it('refuses a return sold outside the window', () => {
    const soldAt = before(30 * DAY_MS + 1);
    spec
      .given(tenOnHand)
      .when(acceptReturn(1, soldAt))
      .thenRefused({ reason: 'RETURN_WINDOW_CLOSED', soldAt, returnWindowDays: 30 });
  });

  it("uses the tenant's window, not the default", () => {
    const soldAt = before(8 * DAY_MS);
    spec
      .given(tenOnHand)
      .when(acceptReturn(1, soldAt, { returnWindowDays: 7 }))
      .thenRefused({ reason: 'RETURN_WINDOW_CLOSED', soldAt, returnWindowDays: 7 });
    spec
      .given(tenOnHand)
      .when(acceptReturn(1, soldAt, { returnWindowDays: 8 }))
      .thenEvents([returned(1, soldAt, true, { onHand: 10, quarantined: 1 })]);
  });

  it('throws NON_POSITIVE_QUANTITY for a return of 0', () => {
    spec.given(tenOnHand).when(acceptReturn(0, tenDaysAgo)).thenThrows('NON_POSITIVE_QUANTITY');
  });
});

describe('CompleteQualityCheck', () => {
  const checked = (
    type: 'QualityCheckPassed' | 'QualityCheckFailed',
    quantity: number,
    levelsAfter: Partial<Levels>,
  ): StockItemEvent => ({
    type,
    data: {
      movementId: 'qc-1',
      quantity,
      ...each(quantity),
      reason: type === 'QualityCheckPassed' ? 'as new' : 'torn seam',
      levelsAfter: L(levelsAfter),
    },
  });
  const threeQuarantined = [received(10, { onHand: 10 }), returnedToQuarantine(3, { onHand: 10, quarantined: 3 })];

  it('a passed quality check makes the units available again', () => {
    const decided = spec
      .given(threeQuarantined)
      .when(qualityCheck(2, true))
      .thenEvents([checked('QualityCheckPassed', 2, { onHand: 12, quarantined: 1 })]);
    spec
      .given([...threeQuarantined, ...decided])
      .when(sell(12))
      .thenEvents([
        {
          type: 'StockSold',
          data: {
            movementId: 'sale-1',
            quantity: 12,
            ...each(12),
            reference: 'pos-1',
            levelsAfter: L({ quarantined: 1 }),
          },
        },
      ]);
  });

  it('a failed quality check writes the units off: out of quarantine, never on hand', () => {
    spec
      .given(threeQuarantined)
      .when(qualityCheck(3, false))
      .thenEvents([checked('QualityCheckFailed', 3, { onHand: 10 })]);
  });

  it('refuses checking more units than are quarantined', () => {
    spec
      .given(threeQuarantined)
      .when(qualityCheck(4, true))
      .thenRefused({ reason: 'NOT_ENOUGH_QUARANTINED', requested: 4, quarantined: 3 });
  });

  it('refuses a quality check with nothing in quarantine, however much is on hand', () => {
    spec
      .given(tenOnHand)
      .when(qualityCheck(1, false))
      .thenRefused({ reason: 'NOT_ENOUGH_QUARANTINED', requested: 1, quarantined: 0 });
  });

  it('throws NON_POSITIVE_QUANTITY for a check of 0 units', () => {
    spec.given(threeQuarantined).when(qualityCheck(0, true)).thenThrows('NON_POSITIVE_QUANTITY');
  });
});
