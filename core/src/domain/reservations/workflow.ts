// Decisions that span a reservation and the stock items of its lines. They are
// appended in one transaction: all lines or none.
import { InvariantViolation, assertNever } from '../shared.js';
import * as stock from '../stock/stockItem.js';
import * as reservation from './reservation.js';
import type { Channel } from '../shared.js';
import type {
  ReleaseReason,
  ReleaseSource,
  StockItem,
  StockItemCommand,
  StockItemEvent,
  StockRefusal,
} from '../stock/stockItem.js';
import type {
  ActiveReservation,
  Reservation,
  ReservationCommand,
  ReservationEvent,
  ReservationLine,
  ReservationRefusal,
} from './reservation.js';

export type LineRefusal = {
  reason: 'INSUFFICIENT_STOCK';
  sku: string;
  locationId: string;
  requested: number;
  available: number;
};

export type WorkflowRefusal = ReservationRefusal | LineRefusal;

/** `stock[i]` are the events for the stock item of `lines[i]`. */
export type WorkflowDecision =
  | { kind: 'accepted'; reservation: ReservationEvent[]; stock: StockItemEvent[][] }
  | { kind: 'refused'; refusal: WorkflowRefusal };

export type PlaceCommand = {
  reservationId: string;
  channel: Channel;
  lines: ReservationLine[];
  expiresAt: string;
  orderRef: string;
  safetyStock: number;
};

/** `items[i]` is the current state of the stock item of `command.lines[i]`. */
export const decidePlace = (command: PlaceCommand, state: Reservation, items: StockItem[]): WorkflowDecision => {
  const { safetyStock, ...placed } = command;
  const placing = reservation.decide({ type: 'PlaceReservation', data: placed }, state);
  if (placing.kind === 'refused') return placing;
  const held = decideLines(command.lines, items, (line) => ({
    type: 'ReserveStock',
    data: { reservationId: command.reservationId, quantity: line.quantity, safetyStock },
  }));
  if (held.kind === 'refused') return { kind: 'refused', refusal: lineRefusal(held.line, held.refusal) };
  return { kind: 'accepted', reservation: placing.events, stock: held.stock };
};

/**
 * Confirm, fulfil, release and expire: the reservation decides, and each of its
 * lines follows with the matching stock movement. `items[i]` is the stock item
 * of `state.lines[i]`.
 */
export const decideTransition = (
  command: Exclude<ReservationCommand, { type: 'PlaceReservation' }>,
  state: Reservation,
  items: StockItem[],
): WorkflowDecision => {
  const decision = reservation.decide(command, state);
  if (decision.kind === 'refused') return decision;
  const [event] = decision.events;
  if (event === undefined || state.status === 'NONE') return { kind: 'accepted', reservation: [], stock: [] };
  const moved = decideLines(state.lines, items, (line) => stockCommandFor(event, line, state));
  // The hold guarantees every movement that follows a transition, except shipping goods a count
  // found missing since.
  if (moved.kind === 'refused') return { kind: 'refused', refusal: lineRefusal(moved.line, moved.refusal) };
  return { kind: 'accepted', reservation: decision.events, stock: moved.stock };
};

/**
 * One stock decision per line. Lines on the same stock item (same location and SKU) are decided
 * one after another on its running state, so two lines cannot both take the last units and each
 * event's `levelsAfter` includes the lines before it.
 */
const decideLines = (
  lines: ReservationLine[],
  items: StockItem[],
  commandFor: (line: ReservationLine) => StockItemCommand,
):
  | { kind: 'accepted'; stock: StockItemEvent[][] }
  | { kind: 'refused'; line: ReservationLine; refusal: StockRefusal } => {
  const running = new Map<string, StockItem>();
  const stockEvents: StockItemEvent[][] = [];
  for (const [i, line] of lines.entries()) {
    const key = JSON.stringify([line.locationId, line.sku]);
    const before = running.get(key) ?? itemAt(items, i);
    const decision = stock.decide(commandFor(line), before);
    if (decision.kind === 'refused') return { kind: 'refused', line, refusal: decision.refusal };
    running.set(key, decision.events.reduce(stock.evolve, before));
    stockEvents.push(decision.events);
  }
  return { kind: 'accepted', stock: stockEvents };
};

const stockCommandFor = (
  event: ReservationEvent,
  line: ReservationLine,
  state: ActiveReservation,
): StockItemCommand => {
  const base = { reservationId: state.reservationId, quantity: line.quantity };
  const release = (from: ReleaseSource, reason: ReleaseReason): StockItemCommand => ({
    type: 'ReleaseStock',
    data: { ...base, from, reason },
  });
  switch (event.type) {
    case 'ReservationConfirmed':
      return { type: 'CommitReservedStock', data: base };
    case 'ReservationFulfilled':
      return { type: 'ShipCommittedStock', data: { ...base, shipmentRef: event.data.shipmentRef } };
    case 'ReservationReleased':
      return release(event.data.previousStatus === 'CONFIRMED' ? 'COMMITTED' : 'RESERVED', 'RELEASED');
    case 'ReservationExpired':
      return release('RESERVED', 'EXPIRED');
    case 'ReservationPlaced':
      throw new InvariantViolation('EVENT_DOES_NOT_FIT_STATE', 'placing goes through decidePlace');
    default:
      return assertNever(event);
  }
};

const lineRefusal = (line: ReservationLine, refusal: StockRefusal): LineRefusal => {
  const at = { sku: line.sku, locationId: line.locationId };
  switch (refusal.reason) {
    case 'INSUFFICIENT_STOCK':
      return { reason: 'INSUFFICIENT_STOCK', ...at, requested: refusal.requested, available: refusal.available };
    case 'NOT_ENOUGH_ON_HAND':
      return { reason: 'INSUFFICIENT_STOCK', ...at, requested: refusal.requested, available: refusal.onHand };
    default:
      throw new InvariantViolation('EVENT_DOES_NOT_FIT_STATE', `a reservation line was refused with ${refusal.reason}`);
  }
};

const itemAt = (items: StockItem[], i: number): StockItem => items[i] ?? stock.initialState();
