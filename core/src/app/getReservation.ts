// GetReservation, and the read every transition starts with: a reservation that was placed and
// that the caller may see (its channel and locations are known only once it is read).
import { AppError } from '../../../platform/errors.js';
import { readStreams, reservationStreamKey, streamKeyId } from '../store/eventStore.js';
import { checkReservationId } from './validation.js';
import { reservationView } from './views.js';
import type pg from 'pg';
import type { ActiveReservation } from '../domain/reservations/reservation.js';
import type { Caller } from './caller.js';
import type { ReservationView } from './views.js';

export type PlacedReservation = { state: ActiveReservation; version: number; createdAt: Date; updatedAt: Date };

/** Read unlocked; NOT_FOUND when it was never placed, PERMISSION_DENIED when the caller may not act on it. */
export const readReservation = async (
  db: pg.Pool | pg.ClientBase,
  caller: Caller,
  reservationId: string,
): Promise<PlacedReservation> => {
  const key = reservationStreamKey(reservationId);
  const s = (await readStreams(db, caller.tenantId, [key])).get(streamKeyId(key));
  if (s === undefined || s.version === 0 || s.createdAt === null || s.updatedAt === null) {
    throw new AppError('NOT_FOUND', `reservation "${reservationId}" does not exist`, {
      reason: 'RESERVATION_NOT_FOUND',
    });
  }
  const state = s.state as ActiveReservation;
  caller.authorize?.({ channel: state.channel, locations: state.lines.map((l) => l.locationId) });
  return { state, version: s.version, createdAt: s.createdAt, updatedAt: s.updatedAt };
};

export const createGetReservation =
  (pool: pg.Pool) =>
  async (caller: Caller, reservationId: string): Promise<ReservationView> => {
    checkReservationId(reservationId);
    const r = await readReservation(pool, caller, reservationId);
    return reservationView(r.state, r.version, r.createdAt, r.updatedAt);
  };
