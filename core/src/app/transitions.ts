// ConfirmReservation, FulfilReservation and ReleaseStock, and the command expiry runs: the
// reservation decides and each line's stock item follows, appended in one transaction. Repeating
// a transition already done answers the reservation as it is, with nothing appended.
import { decideTransition } from '../domain/reservations/workflow.js';
import { reservationStreamKey, stockItemStreamKey } from '../store/eventStore.js';
import { workflowEvents } from './appends.js';
import { readReservation } from './getReservation.js';
import { checkReservationId } from './validation.js';
import { reservationAfter } from './views.js';
import type { Reservation, ReservationCommand } from '../domain/reservations/reservation.js';
import type { StockItem } from '../domain/stock/stockItem.js';
import type { WorkflowRefusal } from '../domain/reservations/workflow.js';
import type { Caller } from './caller.js';
import type { CommandHandler, ReadThenSpec } from './commandSpec.js';
import type { ReservationView } from './views.js';

export type Transition = Exclude<ReservationCommand, { type: 'PlaceReservation' }>;

/** A transition of a placed reservation; its lines (read first, unlocked) tell which streams to lock. */
export const transitionCommand =
  (
    caller: Caller,
    reservationId: string,
    command: string,
    build: (now: Date) => Transition,
  ): ReadThenSpec<ReservationView, WorkflowRefusal> =>
  async (db) => {
    const { state } = await readReservation(db, caller, reservationId);
    return {
      command,
      id: reservationId,
      idempotency: null,
      channel: state.channel,
      lostDemand: false,
      streams: [
        reservationStreamKey(reservationId),
        ...state.lines.map((l) => stockItemStreamKey(l.locationId, l.sku)),
      ],
      decide: ([res, ...items], now) => {
        const d = decideTransition(build(now), res as Reservation, items as StockItem[]);
        return d.kind === 'refused' ? d : { kind: 'accepted', events: workflowEvents(d) };
      },
      answer: reservationAfter,
    };
  };

export const createTransitions = (handler: Pick<CommandHandler, 'handle'>) => {
  const run = (caller: Caller, reservationId: string, command: string, build: (now: Date) => Transition) =>
    handler.handle(caller, transitionCommand(caller, reservationId, command, build));

  const confirm = (caller: Caller, reservationId: string, orderRef: string) => {
    checkReservationId(reservationId, { order_ref: orderRef });
    return run(caller, reservationId, 'confirm', (now) => ({
      type: 'ConfirmReservation',
      data: { orderRef, now: now.toISOString() },
    }));
  };

  const fulfil = (caller: Caller, reservationId: string, shipmentRef: string) => {
    checkReservationId(reservationId, { shipment_ref: shipmentRef });
    return run(caller, reservationId, 'fulfil', () => ({ type: 'FulfilReservation', data: { shipmentRef } }));
  };

  const release = (caller: Caller, reservationId: string, reason: string) => {
    checkReservationId(reservationId, { reason });
    return run(caller, reservationId, 'release', () => ({
      type: 'ReleaseReservation',
      data: { reason: reason || 'RELEASED' },
    }));
  };

  return { confirm, fulfil, release };
};
