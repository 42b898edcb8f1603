// Random sequences of every stock command on two items of one SKU (a warehouse and a store, with
// transfers between them), checked after every step against a ledger the test keeps from the
// commands alone.
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { describe, it } from 'vitest';
import { assertNever } from '../shared.js';
import { available, isNonNegative, zeroLevels } from './levels.js';
import { decide, evolve, initialState } from './stockItem.js';
import type { StockItem, StockItemCommand, StockItemEvent, StockRefusal, WriteOffKind } from './stockItem.js';

const LOCATIONS = ['wh-1', 'store-1'] as const;
const DAY_MS = 24 * 3600 * 1000;
const NOW = '2026-03-31T12:00:00.000Z';
/** Ids that name built-ins of a plain object, mixed in to catch lookups that reach the prototype. */
const TRICKY_IDS = ['constructor', 'toString', '__proto__'];

type Side = 0 | 1;
/** `target` picks among the ids known so far (open or closed), resolved when the step runs. */
type Op =
  | { kind: 'receive'; at: Side; quantity: number; against: number | null }
  | { kind: 'expect'; at: Side; quantity: number; tricky: number | null }
  | { kind: 'reserve' | 'sell' | 'dispatch'; at: Side; quantity: number; safetyStock: number }
  | { kind: 'commit' | 'release' | 'ship'; at: Side; target: number }
  | { kind: 'count'; at: Side; offset: number }
  | { kind: 'writeOff'; at: Side; quantity: number; writeOff: WriteOffKind }
  | { kind: 'sensor'; at: Side; delta: number }
  | { kind: 'receiveTransfer'; at: Side; target: number; offset: number }
  | {
      kind: 'return';
      at: Side;
      quantity: number;
      ageMs: number;
      returnWindowDays: number;
      qualityCheckRequired: boolean;
    }
  | { kind: 'check'; at: Side; quantity: number; passed: boolean };

const at = fc.constantFrom<Side>(0, 1);
const qty = fc.integer({ min: 1, max: 12 });
const target = fc.nat({ max: 30 });
const safetyStock = fc.oneof(
  { arbitrary: fc.constant(0), weight: 3 },
  { arbitrary: fc.integer({ min: 1, max: 3 }), weight: 1 },
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('receive' as const),
      at,
      quantity: fc.integer({ min: 1, max: 20 }),
      against: fc.option(target, { freq: 2 }),
    }),
    weight: 8,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('expect' as const),
      at,
      quantity: qty,
      tricky: fc.option(fc.nat({ max: 2 }), { freq: 4 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constantFrom('reserve' as const, 'sell' as const, 'dispatch' as const),
      at,
      quantity: qty,
      safetyStock,
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({ kind: fc.constantFrom('commit' as const, 'release' as const, 'ship' as const), at, target }),
    weight: 10,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('count' as const), at, offset: fc.integer({ min: -8, max: 3 }) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('writeOff' as const),
      at,
      quantity: qty,
      writeOff: fc.constantFrom<WriteOffKind>('DAMAGE', 'SHRINKAGE'),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('sensor' as const),
      at,
      delta: fc.integer({ min: -8, max: 8 }).filter((d) => d !== 0),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('receiveTransfer' as const),
      at,
      target,
      offset: fc.integer({ min: -4, max: 1 }),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('return' as const),
      at,
      quantity: fc.integer({ min: 1, max: 4 }),
      ageMs: fc.integer({ min: 0, max: 40 * DAY_MS }),
      returnWindowDays: fc.constantFrom(7, 30),
      qualityCheckRequired: fc.boolean(),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('check' as const),
      at,
      quantity: fc.integer({ min: 1, max: 3 }),
      passed: fc.boolean(),
    }),
    weight: 2,
  },
);

type Hold = { reservationId: string; quantity: number; from: 'RESERVED' | 'COMMITTED' };

/** One stock item: its stream, and what the test expects of it, kept from the commands alone. */
type Item = {
  state: StockItem;
  events: StockItemEvent[];
  expectationIds: string[];
  /** Open expectations: units still in transit. */
  expectations: Map<string, number>;
  transferIds: string[];
  /** Transfers on their way here. */
  transfers: Map<string, { quantity: number; fromLocationId: string }>;
  holds: Hold[];
  quarantined: number;
  /** on hand + quarantined + in transit, moved only by what crossed into or out of this item. */
  units: number;
};

const newItem = (): Item => ({
  state: initialState(),
  events: [],
  expectationIds: [],
  expectations: new Map(),
  transferIds: [],
  transfers: new Map(),
  holds: [],
  quarantined: 0,
  units: 0,
});

/** Plain checks, not `expect`: they run after every step of every run and must stay cheap. */
const check = (ok: boolean, problem: () => string): void => {
  if (!ok) throw new Error(problem());
};
const show = (value: unknown): string => JSON.stringify(value);
const pick = <T>(list: T[], i: number): T | undefined => (list.length === 0 ? undefined : list[i % list.length]);
const each = (quantity: number) => ({ unit: 'each', unitQuantity: quantity });
/** Mostly the ids still open, one time in four any id ever used here (closed ones included). */
const known = (ids: string[], open: Map<string, unknown>, target: number): string[] =>
  target % 4 === 0 ? ids : [...open.keys()];

/** What crosses the item's boundary (on hand + quarantined + in transit), read from the event as recorded. */
const recordedCrossing = (event: StockItemEvent): number => {
  switch (event.type) {
    case 'StockReceived':
      return event.data.quantity - (event.data.clearedInTransit ?? 0);
    case 'StockExpected':
    case 'TransferInTransit':
    case 'StockReturned':
      return event.data.quantity;
    case 'StockCounted':
      return event.data.difference;
    case 'SensorDeltaApplied':
      return event.data.delta;
    case 'StockSold':
    case 'StockShipped':
    case 'StockWrittenOff':
    case 'TransferDispatched':
    case 'QualityCheckFailed':
      return -event.data.quantity;
    case 'TransferReceived':
      return -event.data.shortage;
    case 'StockReserved':
    case 'ReservedStockCommitted':
    case 'ReservedStockReleased':
    case 'QualityCheckPassed':
      return 0;
    default:
      return assertNever(event);
  }
};

/** Outflows that take from what is free to sell: after one, nothing promised or kept back is touched. */
const TAKES_AVAILABLE = new Set<StockItemEvent['type']>(['StockSold', 'StockReserved', 'TransferDispatched']);

class World {
  readonly items: [Item, Item] = [newItem(), newItem()];
  step = 0;
  dispatched = 0;
  arrivedInTransit = 0;

  /** Decides, checks the outcome against the rule the test expects, and appends what was accepted. */
  run(
    side: Side,
    command: StockItemCommand,
    expected: 'accepted' | StockRefusal['reason'],
    safety = 0,
  ): StockItemEvent[] {
    const item = this.items[side];
    const decision = decide(command, item.state);
    const actual = decision.kind === 'accepted' ? 'accepted' : decision.refusal.reason;
    check(
      actual === expected,
      () => `${command.type} on ${show(item.state)}: expected ${expected}, got ${show(decision)}`,
    );
    if (decision.kind !== 'accepted') return [];
    check(decision.events.length === 1, () => `${command.type}: ${decision.events.length} events`);
    for (const event of decision.events) {
      const before = item.state;
      item.state = evolve(before, event);
      item.events.push(event);
      const after = event.data.levelsAfter;
      check(
        isDeepStrictEqual(after, item.state.levels),
        () => `${event.type}: levelsAfter ${show(after)}, fold ${show(item.state.levels)}`,
      );
      check(isNonNegative(after), () => `${event.type}: negative level ${show(after)}`);
      if (TAKES_AVAILABLE.has(event.type)) {
        const raw = after.onHand - after.reserved - after.committed - safety;
        check(raw >= 0, () => `${event.type} oversold: ${show(after)} with safety stock ${safety}`);
      }
    }
    return decision.events;
  }

  apply(op: Op): void {
    const side = op.at;
    const item = this.items[side];
    const { levels } = item.state;
    const id = `${op.kind}-${++this.step}`;
    switch (op.kind) {
      case 'receive': {
        const expectationId =
          op.against === null
            ? undefined
            : (pick(known(item.expectationIds, item.expectations, op.against), op.against) ?? 'exp-unknown');
        const open = expectationId === undefined ? undefined : item.expectations.get(expectationId);
        const command: StockItemCommand = {
          type: 'ReceiveStock',
          data: {
            movementId: id,
            quantity: op.quantity,
            ...each(op.quantity),
            reference: 'po',
            ...(expectationId === undefined ? {} : { expectationId }),
          },
        };
        const ok = expectationId === undefined || open !== undefined;
        if (this.run(side, command, ok ? 'accepted' : 'EXPECTATION_NOT_OPEN').length === 0) return;
        const cleared = Math.min(open ?? 0, op.quantity);
        item.units += op.quantity - cleared;
        if (expectationId !== undefined && open !== undefined) {
          if (open > cleared) item.expectations.set(expectationId, open - cleared);
          else item.expectations.delete(expectationId);
        }
        return;
      }
      case 'expect': {
        const trickyId = op.tricky === null ? undefined : TRICKY_IDS[op.tricky];
        const expectationId = trickyId !== undefined && !item.expectationIds.includes(trickyId) ? trickyId : id;
        const command: StockItemCommand = {
          type: 'ExpectStock',
          data: {
            movementId: expectationId,
            quantity: op.quantity,
            ...each(op.quantity),
            reference: 'po',
            expectedAt: null,
          },
        };
        this.run(side, command, 'accepted');
        item.expectationIds.push(expectationId);
        item.expectations.set(expectationId, op.quantity);
        item.units += op.quantity;
        return;
      }
      case 'reserve': {
        const ok = op.quantity <= available(levels, op.safetyStock);
        const command: StockItemCommand = {
          type: 'ReserveStock',
          data: { reservationId: id, quantity: op.quantity, safetyStock: op.safetyStock },
        };
        if (this.run(side, command, ok ? 'accepted' : 'INSUFFICIENT_STOCK', op.safetyStock).length > 0) {
          item.holds.push({ reservationId: id, quantity: op.quantity, from: 'RESERVED' });
        }
        return;
      }
      case 'sell': {
        const ok = op.quantity <= available(levels, op.safetyStock);
        const command: StockItemCommand = {
          type: 'SellStock',
          data: {
            movementId: id,
            quantity: op.quantity,
            ...each(op.quantity),
            reference: 'pos',
            safetyStock: op.safetyStock,
          },
        };
        if (this.run(side, command, ok ? 'accepted' : 'INSUFFICIENT_STOCK', op.safetyStock).length > 0)
          item.units -= op.quantity;
        return;
      }
      case 'dispatch': {
        const toSide: Side = side === 0 ? 1 : 0;
        const transferId = `t-${this.step}`;
        const ok = op.quantity <= available(levels, op.safetyStock);
        const command: StockItemCommand = {
          type: 'DispatchTransfer',
          data: {
            transferId,
            toLocationId: LOCATIONS[toSide],
            quantity: op.quantity,
            ...each(op.quantity),
            reference: 'tr',
            reason: 'rebalance',
            safetyStock: op.safetyStock,
          },
        };
        if (this.run(side, command, ok ? 'accepted' : 'INSUFFICIENT_STOCK', op.safetyStock).length === 0) return;
        item.units -= op.quantity;
        this.dispatched += op.quantity;
        // The destination side of the same transaction.
        const to = this.items[toSide];
        this.run(
          toSide,
          { type: 'ExpectTransfer', data: { transferId, fromLocationId: LOCATIONS[side], quantity: op.quantity } },
          'accepted',
        );
        to.transferIds.push(transferId);
        to.transfers.set(transferId, { quantity: op.quantity, fromLocationId: LOCATIONS[side] });
        to.units += op.quantity;
        this.arrivedInTransit += op.quantity;
        return;
      }
      case 'commit':
      case 'release':
      case 'ship': {
        const candidates = item.holds.filter(
          (h) => op.kind === 'release' || h.from === (op.kind === 'commit' ? 'RESERVED' : 'COMMITTED'),
        );
        const hold = pick(candidates, op.target);
        if (hold === undefined) return;
        const { reservationId, quantity } = hold;
        if (op.kind === 'commit') {
          this.run(side, { type: 'CommitReservedStock', data: { reservationId, quantity } }, 'accepted');
          hold.from = 'COMMITTED';
          return;
        }
        if (op.kind === 'release') {
          this.run(
            side,
            { type: 'ReleaseStock', data: { reservationId, quantity, from: hold.from, reason: 'RELEASED' } },
            'accepted',
          );
        } else {
          const ok = quantity <= levels.onHand;
          const shipped = this.run(
            side,
            { type: 'ShipCommittedStock', data: { reservationId, quantity, shipmentRef: id } },
            ok ? 'accepted' : 'NOT_ENOUGH_ON_HAND',
          );
          if (shipped.length === 0) return;
          item.units -= quantity;
        }
        item.holds = item.holds.filter((h) => h !== hold);
        return;
      }
      case 'count': {
        const counted = Math.max(0, levels.onHand + op.offset);
        this.run(
          side,
          { type: 'CountStock', data: { movementId: id, counted, ...each(counted), reason: 'cycle count' } },
          'accepted',
        );
        item.units += counted - levels.onHand;
        return;
      }
      case 'writeOff': {
        const ok = op.quantity <= levels.onHand;
        const command: StockItemCommand = {
          type: 'WriteOffStock',
          data: { movementId: id, kind: op.writeOff, quantity: op.quantity, ...each(op.quantity), reason: 'damaged' },
        };
        if (this.run(side, command, ok ? 'accepted' : 'NOT_ENOUGH_ON_HAND').length > 0) item.units -= op.quantity;
        return;
      }
      case 'sensor': {
        const ok = op.delta > 0 || -op.delta <= levels.onHand;
        const command: StockItemCommand = {
          type: 'ApplySensorDelta',
          data: { movementId: id, delta: op.delta, ...each(op.delta), reason: 'SENSOR' },
        };
        if (this.run(side, command, ok ? 'accepted' : 'NOT_ENOUGH_ON_HAND').length > 0) item.units += op.delta;
        return;
      }
      case 'receiveTransfer': {
        const transferId =
          op.target === 0
            ? (TRICKY_IDS[op.offset & 1] ?? 't-unknown')
            : (pick(known(item.transferIds, item.transfers, op.target), op.target) ?? 't-unknown');
        const transfer = item.transfers.get(transferId);
        const received = Math.max(0, (transfer?.quantity ?? 1) + op.offset);
        const expected =
          transfer === undefined
            ? 'TRANSFER_NOT_IN_TRANSIT'
            : received > transfer.quantity
              ? 'RECEIVED_MORE_THAN_DISPATCHED'
              : 'accepted';
        const command: StockItemCommand = {
          type: 'ReceiveTransfer',
          data: { movementId: id, transferId, received, ...each(received), reason: 'arrived' },
        };
        if (this.run(side, command, expected).length === 0 || transfer === undefined) return;
        item.units -= transfer.quantity - received;
        item.transfers.delete(transferId);
        return;
      }
      case 'return': {
        const ok = op.ageMs <= op.returnWindowDays * DAY_MS;
        const command: StockItemCommand = {
          type: 'AcceptReturn',
          data: {
            movementId: id,
            quantity: op.quantity,
            ...each(op.quantity),
            reference: 'order',
            reason: 'unwanted',
            soldAt: new Date(Date.parse(NOW) - op.ageMs).toISOString(),
            now: NOW,
            returnWindowDays: op.returnWindowDays,
            qualityCheckRequired: op.qualityCheckRequired,
          },
        };
        if (this.run(side, command, ok ? 'accepted' : 'RETURN_WINDOW_CLOSED').length === 0) return;
        item.units += op.quantity;
        if (op.qualityCheckRequired) item.quarantined += op.quantity;
        return;
      }
      case 'check': {
        const ok = op.quantity <= item.quarantined;
        const command: StockItemCommand = {
          type: 'CompleteQualityCheck',
          data: { movementId: id, quantity: op.quantity, ...each(op.quantity), passed: op.passed, reason: 'checked' },
        };
        if (this.run(side, command, ok ? 'accepted' : 'NOT_ENOUGH_QUARANTINED').length === 0) return;
        item.quarantined -= op.quantity;
        if (!op.passed) item.units -= op.quantity;
        return;
      }
    }
  }

  /** The laws that hold after every step. */
  checkLaws(): void {
    for (const [side, item] of this.items.entries()) {
      const { levels, inbound, transfersIn } = item.state;
      const where = () => `${LOCATIONS[side as Side]} ${show(item.state)}`;
      check(isNonNegative(levels) && available(levels, 0) >= 0, () => `${where()}: negative level`);
      const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);
      // Conservation: only what crossed the item's boundary moves on hand + quarantined + in transit,
      // both as the test booked it from the commands and as the events recorded it.
      const units = levels.onHand + levels.quarantined + levels.inTransit;
      check(units === item.units, () => `${where()}: ${units} units, the commands moved ${item.units}`);
      const recorded = sum(item.events.map(recordedCrossing));
      check(units === recorded, () => `${where()}: ${units} units, the events recorded ${recorded}`);
      // Each level on its own, against the test's ledger.
      const inTransit = sum(item.expectations.values()) + sum([...item.transfers.values()].map((t) => t.quantity));
      check(levels.inTransit === inTransit, () => `${where()}: in transit, expected ${inTransit}`);
      check(levels.quarantined === item.quarantined, () => `${where()}: quarantined, expected ${item.quarantined}`);
      const held = (from: Hold['from']) => sum(item.holds.filter((h) => h.from === from).map((h) => h.quantity));
      check(
        levels.reserved === held('RESERVED') && levels.committed === held('COMMITTED'),
        () => `${where()}: holds ${show(item.holds)}`,
      );
      // The maps `decide` reads are exactly the open expectations and transfers, absent when empty.
      const asRecord = <V>(map: Map<string, V>) => (map.size === 0 ? undefined : Object.fromEntries(map));
      check(
        isDeepStrictEqual(inbound, asRecord(item.expectations)),
        () => `${where()}: inbound, expected ${show([...item.expectations])}`,
      );
      check(
        isDeepStrictEqual(transfersIn, asRecord(item.transfers)),
        () => `${where()}: transfersIn, expected ${show([...item.transfers])}`,
      );
    }
    check(
      this.dispatched === this.arrivedInTransit,
      () => `dispatched ${this.dispatched}, in transit at the destination ${this.arrivedInTransit}`,
    );
  }

  /** Every stream, folded from the start, gives its snapshot, and every levelsAfter is that fold up to it. */
  checkStreams(): void {
    for (const item of this.items) {
      // One pass: after event i, `folded` is `events.slice(0, i + 1).reduce(evolve, initialState())`.
      let folded = initialState();
      item.events.forEach((event, i) => {
        folded = evolve(folded, event);
        check(
          isDeepStrictEqual(event.data.levelsAfter, folded.levels),
          () => `event ${i} ${event.type}: levelsAfter ${show(event.data.levelsAfter)}`,
        );
      });
      check(isDeepStrictEqual(folded, item.state), () => `fold ${show(folded)} != snapshot ${show(item.state)}`);
      check(
        isDeepStrictEqual(item.events.at(-1)?.data.levelsAfter ?? zeroLevels(), item.state.levels),
        () => 'last levelsAfter != snapshot',
      );
    }
  }
}

describe('stock movements over random command sequences on two items', () => {
  it('keeps every level non-negative, levelsAfter equal to the fold, and conserves units', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60, size: 'max' }), (ops) => {
        const world = new World();
        for (const op of ops) {
          world.apply(op);
          world.checkLaws();
        }
        world.checkStreams();
      }),
      { numRuns: 400 },
    );
  });
});
