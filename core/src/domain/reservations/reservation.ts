// Reservation: a multi-line hold with a deadline. Times are ISO-8601 strings so
// state and events survive a JSON round trip unchanged.
import { assertNever } from '../shared.js';
import type { Channel } from '../shared.js';

export type ReservationLine = {
  sku: string;
  locationId: string;
  /** Base units held. */
  quantity: number;
  /** The unit and quantity as the caller sent them. */
  unit: string;
  unitQuantity: number;
};

export type ReservationStatus = 'PENDING' | 'CONFIRMED' | 'FULFILLED' | 'RELEASED' | 'EXPIRED';

export type Reservation =
  | { status: 'NONE' }
  | {
      status: ReservationStatus;
      reservationId: string;
      channel: Channel;
      lines: ReservationLine[];
      expiresAt: string;
      orderRef: string;
      shipmentRef: string;
      releaseReason: string;
    };

export type ActiveReservation = Exclude<Reservation, { status: 'NONE' }>;

export const initialState = (): Reservation => ({ status: 'NONE' });

export type ReservationCommand =
  | {
      type: 'PlaceReservation';
      data: { reservationId: string; channel: Channel; lines: ReservationLine[]; expiresAt: string; orderRef: string };
    }
  | { type: 'ConfirmReservation'; data: { orderRef: string; now: string } }
  | { type: 'FulfilReservation'; data: { shipmentRef: string } }
  | { type: 'ReleaseReservation'; data: { reason: string } }
  | { type: 'ExpireReservation'; data: { now: string } };

export type ReservationEvent =
  | {
      type: 'ReservationPlaced';
      data: { reservationId: string; channel: Channel; lines: ReservationLine[]; expiresAt: string; orderRef: string };
    }
  | { type: 'ReservationConfirmed'; data: { reservationId: string; orderRef: string } }
  | { type: 'ReservationFulfilled'; data: { reservationId: string; shipmentRef: string } }
  | {
      type: 'ReservationReleased';
      data: { reservationId: string; reason: string; previousStatus: 'PENDING' | 'CONFIRMED' };
    }
  | { type: 'ReservationExpired'; data: { reservationId: string; expiresAt: string } };

export type ReservationRefusalReason =
  | 'RESERVATION_NOT_FOUND'
  | 'RESERVATION_EXISTS'
  | 'RESERVATION_EXPIRED'
  | 'RESERVATION_NOT_CONFIRMED'
  | 'RESERVATION_FULFILLED'
  | 'RESERVATION_RELEASED'
  | 'ORDER_REF_MISMATCH';

export type ReservationRefusal = {
  reason: ReservationRefusalReason;
  reservationId: string;
  status: Reservation['status'];
};

export type ReservationDecision =
  { kind: 'accepted'; events: ReservationEvent[] } | { kind: 'refused'; refusal: ReservationRefusal };

const nothingToDo: ReservationDecision = { kind: 'accepted', events: [] };

export const evolve = (state: Reservation, event: ReservationEvent): Reservation => {
  if (event.type === 'ReservationPlaced') {
    return { status: 'PENDING', ...event.data, shipmentRef: '', releaseReason: '' };
  }
  if (state.status === 'NONE') return state;
  switch (event.type) {
    case 'ReservationConfirmed':
      return { ...state, status: 'CONFIRMED', orderRef: event.data.orderRef || state.orderRef };
    case 'ReservationFulfilled':
      return { ...state, status: 'FULFILLED', shipmentRef: event.data.shipmentRef };
    case 'ReservationReleased':
      return { ...state, status: 'RELEASED', releaseReason: event.data.reason };
    case 'ReservationExpired':
      return { ...state, status: 'EXPIRED', releaseReason: 'EXPIRED' };
    default:
      return assertNever(event);
  }
};

export const isDue = (state: ActiveReservation, now: string): boolean => Date.parse(now) >= Date.parse(state.expiresAt);

export const decide = (command: ReservationCommand, state: Reservation): ReservationDecision => {
  if (command.type === 'PlaceReservation') {
    if (state.status !== 'NONE') return refuse('RESERVATION_EXISTS', state, command.data.reservationId);
    return { kind: 'accepted', events: [{ type: 'ReservationPlaced', data: command.data }] };
  }
  if (state.status === 'NONE') return refuse('RESERVATION_NOT_FOUND', state, '');
  const { reservationId } = state;
  switch (command.type) {
    case 'ConfirmReservation':
      return decideConfirm(command.data, state);
    case 'FulfilReservation':
      if (state.status === 'FULFILLED') return nothingToDo;
      if (state.status !== 'CONFIRMED') return refuse(refusalFor(state.status, 'RESERVATION_NOT_CONFIRMED'), state);
      return { kind: 'accepted', events: [{ type: 'ReservationFulfilled', data: { reservationId, ...command.data } }] };
    case 'ReleaseReservation':
      if (state.status === 'RELEASED' || state.status === 'EXPIRED') return nothingToDo;
      if (state.status === 'FULFILLED') return refuse('RESERVATION_FULFILLED', state);
      return {
        kind: 'accepted',
        events: [
          {
            type: 'ReservationReleased',
            data: { reservationId, reason: command.data.reason, previousStatus: state.status },
          },
        ],
      };
    case 'ExpireReservation':
      if (state.status !== 'PENDING' || !isDue(state, command.data.now)) return nothingToDo;
      return {
        kind: 'accepted',
        events: [{ type: 'ReservationExpired', data: { reservationId, expiresAt: state.expiresAt } }],
      };
    default:
      return assertNever(command);
  }
};

const decideConfirm = (data: { orderRef: string; now: string }, state: ActiveReservation): ReservationDecision => {
  const conflictingRef = data.orderRef !== '' && state.orderRef !== '' && data.orderRef !== state.orderRef;
  switch (state.status) {
    case 'PENDING':
      if (isDue(state, data.now)) return refuse('RESERVATION_EXPIRED', state);
      if (conflictingRef) return refuse('ORDER_REF_MISMATCH', state);
      return {
        kind: 'accepted',
        events: [
          { type: 'ReservationConfirmed', data: { reservationId: state.reservationId, orderRef: data.orderRef } },
        ],
      };
    case 'CONFIRMED':
    case 'FULFILLED':
      return conflictingRef ? refuse('ORDER_REF_MISMATCH', state) : nothingToDo;
    case 'RELEASED':
    case 'EXPIRED':
      return refuse(refusalFor(state.status, 'RESERVATION_RELEASED'), state);
    default:
      return assertNever(state.status);
  }
};

const refusalFor = (status: ReservationStatus, fallback: ReservationRefusalReason): ReservationRefusalReason => {
  if (status === 'EXPIRED') return 'RESERVATION_EXPIRED';
  if (status === 'RELEASED') return 'RESERVATION_RELEASED';
  if (status === 'FULFILLED') return 'RESERVATION_FULFILLED';
  return fallback;
};

const refuse = (reason: ReservationRefusalReason, state: Reservation, id?: string): ReservationDecision => ({
  kind: 'refused',
  refusal: { reason, reservationId: state.status === 'NONE' ? (id ?? '') : state.reservationId, status: state.status },
});
