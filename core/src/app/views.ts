// What the core answers with: plain objects, converted to protobuf at the API adapter.
import { available, availabilityStatus, zeroLevels } from '../domain/stock/levels.js';
import type { Channel } from '../domain/shared.js';
import type { AvailabilityStatus, Levels } from '../domain/stock/levels.js';
import type { ActiveReservation, ReservationStatus } from '../domain/reservations/reservation.js';
import type { TenantPolicy } from '../../../contracts/policy.js';

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

/**
 * The sum over a region's locations. Available is the sum of each location's available (safety
 * stock is kept at every location); the version is the sum of versions, so it moves whenever any does.
 */
export const aggregateViews = (
  key: { sku: string; locationId: string },
  parts: StockLevelView[],
  policy: TenantPolicy,
): StockLevelView => {
  const levels = zeroLevels();
  let free = 0;
  let version = 0;
  let asOf = Number.POSITIVE_INFINITY;
  for (const p of parts) {
    for (const k of Object.keys(levels) as (keyof Levels)[]) levels[k] += p.levels[k];
    free += p.available;
    version += p.version;
    asOf = Math.min(asOf, Date.parse(p.asOf));
  }
  return {
    sku: key.sku,
    locationId: key.locationId,
    levels,
    available: free,
    status: availabilityStatus(free, policy.lowStockThreshold),
    version,
    asOf: (Number.isFinite(asOf) ? new Date(asOf) : new Date()).toISOString(),
    stale: parts.some((p) => p.stale),
    aggregated: true,
    locationCount: parts.length,
  };
};
