// What the core answers with: plain objects, converted to protobuf at the API adapter.
import { available, availabilityStatus, zeroLevels } from '../domain/stock/levels.js';
import type { Channel } from '../domain/shared.js';
import type { AvailabilityStatus, Levels } from '../domain/stock/levels.js';
import type { ActiveReservation, ReservationStatus } from '../domain/reservations/reservation.js';
import type { TenantPolicy } from '../../../contracts/policy.js';
import type { StreamAfter } from './commandSpec.js';

export type ReservationView = {
  reservationId: string;
  status: ReservationStatus;
  channel: Channel;
  lines: { sku: string; locationId: string; quantity: number; unit: string; baseQuantity: number }[];
  expiresAt: string;
  orderRef: string;
  shipmentRef: string;
  releaseReason: string;
  createdAt: string;
  updatedAt: string;
  version: number;
};

export const reservationView = (
  state: ActiveReservation,
  version: number,
  createdAt: Date,
  updatedAt: Date,
): ReservationView => ({
  reservationId: state.reservationId,
  status: state.status,
  channel: state.channel,
  lines: state.lines.map((l) => ({
    sku: l.sku,
    locationId: l.locationId,
    quantity: l.unitQuantity,
    unit: l.unit,
    baseQuantity: l.quantity,
  })),
  expiresAt: state.expiresAt,
  orderRef: state.orderRef,
  shipmentRef: state.shipmentRef,
  releaseReason: state.releaseReason,
  createdAt: createdAt.toISOString(),
  updatedAt: updatedAt.toISOString(),
  version,
});

export type StockLevelView = {
  sku: string;
  locationId: string;
  levels: Levels;
  available: number;
  status: AvailabilityStatus;
  version: number;
  asOf: string;
  stale: boolean;
  /** Set when the key named a region: the sum over `locationCount` locations. */
  aggregated?: boolean;
  locationCount?: number;
};

export const stockLevelView = (
  key: { sku: string; locationId: string },
  levels: Levels | null,
  version: number,
  asOf: Date,
  policy: TenantPolicy,
  stale = false,
): StockLevelView => {
  const l = levels ?? zeroLevels();
  const free = available(l, policy.safetyStock);
  return {
    sku: key.sku,
    locationId: key.locationId,
    levels: l,
    available: free,
    status: availabilityStatus(free, policy.lowStockThreshold),
    version,
    asOf: asOf.toISOString(),
    stale,
  };
};

/** The reservation as a command left it (the first of a reservation command's streams). */
export const reservationAfter = (after: StreamAfter[]): ReservationView => {
  const r = after[0] as StreamAfter;
  return reservationView(r.state as ActiveReservation, r.version, r.createdAt, r.updatedAt);
};
