import { describe, expect, it } from 'vitest';
import { deciderSpec } from '../../../../test/support/decider.js';
import { decide, evolve, initialState, isDue } from './reservation.js';
import type {
  ActiveReservation,
  ReservationEvent,
  ReservationLine,
  ReservationRefusalReason,
  ReservationStatus,
} from './reservation.js';

const spec = deciderSpec({ decide, evolve, initialState });

const ID = 'res-1';
const EXPIRES = '2025-11-28T10:15:00.000Z';
const BEFORE = '2025-11-28T10:14:59.999Z';
const LATER = '2025-11-28T11:00:00.000Z';
const lines: ReservationLine[] = [
  { sku: 'SKU-A', locationId: 'wh-1', quantity: 24, unit: 'box', unitQuantity: 2 },
  { sku: 'SKU-B', locationId: 'wh-2', quantity: 1, unit: 'each', unitQuantity: 1 },
];
const placeData = { reservationId: ID, channel: 'B2B', lines, expiresAt: EXPIRES, orderRef: 'order-1' } as const;

const placed = (orderRef = 'order-1'): ReservationEvent => ({
  type: 'ReservationPlaced',
  data: { ...placeData, orderRef },
});
const confirmed = (orderRef = 'order-1'): ReservationEvent => ({
  type: 'ReservationConfirmed',
  data: { reservationId: ID, orderRef },
});
const fulfilled: ReservationEvent = {
  type: 'ReservationFulfilled',
  data: { reservationId: ID, shipmentRef: 'ship-1' },
};
const releasedFrom = (previousStatus: 'PENDING' | 'CONFIRMED'): ReservationEvent => ({
  type: 'ReservationReleased',
  data: { reservationId: ID, reason: 'customer cancelled', previousStatus },
});
const expired: ReservationEvent = { type: 'ReservationExpired', data: { reservationId: ID, expiresAt: EXPIRES } };

const history: Record<ReservationStatus, ReservationEvent[]> = {
  PENDING: [placed()],
  CONFIRMED: [placed(), confirmed()],
  FULFILLED: [placed(), confirmed(), fulfilled],
  RELEASED: [placed(), releasedFrom('PENDING')],
  EXPIRED: [placed(), expired],
};

const place = { type: 'PlaceReservation', data: placeData } as const;
const confirm = (now: string, orderRef = 'order-1') =>
  ({ type: 'ConfirmReservation', data: { orderRef, now } }) as const;
const fulfil = { type: 'FulfilReservation', data: { shipmentRef: 'ship-1' } } as const;
const release = { type: 'ReleaseReservation', data: { reason: 'customer cancelled' } } as const;
const expire = (now: string) => ({ type: 'ExpireReservation', data: { now } }) as const;

const refusal = (reason: ReservationRefusalReason, status: ReservationStatus) => ({
  reason,
  reservationId: ID,
  status,
});
const stateOf = (events: ReservationEvent[]): ActiveReservation => {
  const state = spec.given(events).state;
  if (state.status === 'NONE') throw new Error('expected an active reservation');
  return state;
};

describe('Reservation', () => {
  describe('PlaceReservation', () => {
    it('places a new reservation as PENDING with its lines, channel, deadline and order ref', () => {
      spec.given([]).when(place).thenEvents([placed()]);
      expect(stateOf([placed()])).toEqual({
        status: 'PENDING',
        ...placeData,
        shipmentRef: '',
        releaseReason: '',
      });
    });

    it.each(['PENDING', 'CONFIRMED', 'FULFILLED', 'RELEASED', 'EXPIRED'] as const)(
      'refuses to place an id that already exists (%s) with RESERVATION_EXISTS',
      (status) => {
        spec.given(history[status]).when(place).thenRefused(refusal('RESERVATION_EXISTS', status));
      },
    );
  });

  describe('transitions on a reservation that does not exist', () => {
    it.each([
      ['confirm', confirm(BEFORE)],
      ['fulfil', fulfil],
      ['release', release],
      ['expire', expire(LATER)],
    ] as const)('refuses to %s with RESERVATION_NOT_FOUND', (_name, command) => {
      spec.given([]).when(command).thenRefused({ reason: 'RESERVATION_NOT_FOUND', reservationId: '', status: 'NONE' });
    });
  });

  describe('ConfirmReservation', () => {
    it('confirms a pending reservation before its deadline', () => {
      spec.given(history.PENDING).when(confirm(BEFORE)).thenEvents([confirmed()]);
      expect(stateOf([...history.PENDING, confirmed()]).status).toBe('CONFIRMED');
    });

    it('confirms without an order ref and keeps the one given at placement', () => {
      spec
        .given(history.PENDING)
        .when(confirm(BEFORE, ''))
        .thenEvents([confirmed('')]);
      expect(stateOf([...history.PENDING, confirmed('')]).orderRef).toBe('order-1');
    });

    it('takes the order ref from the confirmation when none was given at placement', () => {
      spec
        .given([placed('')])
        .when(confirm(BEFORE, 'order-9'))
        .thenEvents([confirmed('order-9')]);
      expect(stateOf([placed(''), confirmed('order-9')]).orderRef).toBe('order-9');
    });

    it('refuses with RESERVATION_EXPIRED after the deadline even while still PENDING', () => {
      spec.given(history.PENDING).when(confirm(LATER)).thenRefused(refusal('RESERVATION_EXPIRED', 'PENDING'));
    });

    it('treats the deadline instant itself as expired', () => {
      spec.given(history.PENDING).when(confirm(EXPIRES)).thenRefused(refusal('RESERVATION_EXPIRED', 'PENDING'));
    });

    it('compares instants, not strings, when times carry an offset', () => {
      // 11:14+01:00 is 10:14Z: before the deadline, though it sorts after it as a string.
      spec.given(history.PENDING).when(confirm('2025-11-28T11:14:00+01:00')).thenEvents([confirmed()]);
    });

    it('refuses a different non-empty order ref with ORDER_REF_MISMATCH', () => {
      spec
        .given(history.PENDING)
        .when(confirm(BEFORE, 'order-2'))
        .thenRefused(refusal('ORDER_REF_MISMATCH', 'PENDING'));
    });

    it('does nothing when confirming a confirmed reservation again', () => {
      spec.given(history.CONFIRMED).when(confirm(BEFORE)).thenNothingToDo();
    });

    it('does nothing when confirming a confirmed reservation again after its deadline: confirmed holds do not expire', () => {
      spec.given(history.CONFIRMED).when(confirm(LATER)).thenNothingToDo();
    });

    it('does nothing when confirming a confirmed reservation again without an order ref', () => {
      spec.given(history.CONFIRMED).when(confirm(BEFORE, '')).thenNothingToDo();
    });

    it('refuses a repeat confirmation with another order ref with ORDER_REF_MISMATCH', () => {
      spec
        .given(history.CONFIRMED)
        .when(confirm(BEFORE, 'order-2'))
        .thenRefused(refusal('ORDER_REF_MISMATCH', 'CONFIRMED'));
    });

    it('does nothing when confirming a fulfilled reservation: it was confirmed already', () => {
      spec.given(history.FULFILLED).when(confirm(LATER)).thenNothingToDo();
    });

    it('refuses to confirm a fulfilled reservation with another order ref', () => {
      spec
        .given(history.FULFILLED)
        .when(confirm(BEFORE, 'order-2'))
        .thenRefused(refusal('ORDER_REF_MISMATCH', 'FULFILLED'));
    });

    it('refuses to confirm a released reservation with RESERVATION_RELEASED', () => {
      spec.given(history.RELEASED).when(confirm(BEFORE)).thenRefused(refusal('RESERVATION_RELEASED', 'RELEASED'));
    });

    it('refuses to confirm an expired reservation with RESERVATION_EXPIRED', () => {
      spec.given(history.EXPIRED).when(confirm(BEFORE)).thenRefused(refusal('RESERVATION_EXPIRED', 'EXPIRED'));
    });
  });

  describe('FulfilReservation', () => {
    it('fulfils a confirmed reservation and records the shipment', () => {
      spec.given(history.CONFIRMED).when(fulfil).thenEvents([fulfilled]);
      expect(stateOf(history.FULFILLED)).toMatchObject({ status: 'FULFILLED', shipmentRef: 'ship-1' });
    });

    it('refuses to fulfil before confirmation with RESERVATION_NOT_CONFIRMED', () => {
      spec.given(history.PENDING).when(fulfil).thenRefused(refusal('RESERVATION_NOT_CONFIRMED', 'PENDING'));
    });

    it('does nothing when fulfilling a fulfilled reservation again', () => {
      spec.given(history.FULFILLED).when(fulfil).thenNothingToDo();
    });

    it('refuses to fulfil a released reservation with RESERVATION_RELEASED', () => {
      spec.given(history.RELEASED).when(fulfil).thenRefused(refusal('RESERVATION_RELEASED', 'RELEASED'));
    });

    it('refuses to fulfil an expired reservation with RESERVATION_EXPIRED', () => {
      spec.given(history.EXPIRED).when(fulfil).thenRefused(refusal('RESERVATION_EXPIRED', 'EXPIRED'));
    });
  });

  describe('ReleaseReservation', () => {
    it('releases a pending reservation, remembering it was PENDING', () => {
      spec
        .given(history.PENDING)
        .when(release)
        .thenEvents([releasedFrom('PENDING')]);
      expect(stateOf(history.RELEASED)).toMatchObject({ status: 'RELEASED', releaseReason: 'customer cancelled' });
    });

    it('releases a confirmed reservation, remembering it was CONFIRMED', () => {
      spec
        .given(history.CONFIRMED)
        .when(release)
        .thenEvents([releasedFrom('CONFIRMED')]);
      expect(stateOf([...history.CONFIRMED, releasedFrom('CONFIRMED')]).status).toBe('RELEASED');
    });

    it('refuses to release a fulfilled reservation with RESERVATION_FULFILLED', () => {
      spec.given(history.FULFILLED).when(release).thenRefused(refusal('RESERVATION_FULFILLED', 'FULFILLED'));
    });

    it('does nothing when releasing a released reservation again', () => {
      spec.given(history.RELEASED).when(release).thenNothingToDo();
      spec
        .given([...history.CONFIRMED, releasedFrom('CONFIRMED')])
        .when(release)
        .thenNothingToDo();
    });

    it('does nothing when releasing an expired reservation: its stock is already back', () => {
      spec.given(history.EXPIRED).when(release).thenNothingToDo();
    });
  });

  describe('ExpireReservation', () => {
    it('expires a pending reservation once its deadline has passed', () => {
      spec.given(history.PENDING).when(expire(LATER)).thenEvents([expired]);
      expect(stateOf(history.EXPIRED)).toMatchObject({ status: 'EXPIRED', releaseReason: 'EXPIRED' });
    });

    it('expires a pending reservation at the deadline instant', () => {
      spec.given(history.PENDING).when(expire(EXPIRES)).thenEvents([expired]);
    });

    it('does nothing for a pending reservation that is not yet due', () => {
      spec.given(history.PENDING).when(expire(BEFORE)).thenNothingToDo();
    });

    it.each(['CONFIRMED', 'FULFILLED', 'RELEASED', 'EXPIRED'] as const)(
      'does nothing for a %s reservation, even long past its deadline',
      (status) => {
        spec.given(history[status]).when(expire(LATER)).thenNothingToDo();
      },
    );
  });

  describe('state', () => {
    it('isDue is true from the deadline on', () => {
      const state = stateOf(history.PENDING);
      expect([BEFORE, EXPIRES, LATER].map((now) => isDue(state, now))).toEqual([false, true, true]);
    });

    it('survives a JSON round trip unchanged', () => {
      for (const events of Object.values(history)) {
        const state = spec.given(events).state;
        expect(JSON.parse(JSON.stringify(state))).toEqual(state);
      }
    });

    it('ignores transition events on a reservation that was never placed', () => {
      expect(evolve(initialState(), confirmed())).toEqual({ status: 'NONE' });
    });
  });
});
