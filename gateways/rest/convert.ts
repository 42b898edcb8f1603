// Core (protobuf) answers as REST bodies. int64 becomes number here.
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { ReservationStatus } from '../../gen/stockmind/inventory/v1/reservations_pb.js';
import { AvailabilityStatus, Channel } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import type { Timestamp } from '@bufbuild/protobuf/wkt';
import type { z } from 'zod';
import type { Reservation } from '../../gen/stockmind/inventory/v1/reservations_pb.js';
import type { StockLevel } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import type { availability, reservation, stockLevel } from './schemas.js';

type Status = 'IN_STOCK' | 'LOW_STOCK' | 'OUT_OF_STOCK';

const STATUS: Record<AvailabilityStatus, Status> = {
  [AvailabilityStatus.UNSPECIFIED]: 'OUT_OF_STOCK',
  [AvailabilityStatus.IN_STOCK]: 'IN_STOCK',
  [AvailabilityStatus.LOW_STOCK]: 'LOW_STOCK',
  [AvailabilityStatus.OUT_OF_STOCK]: 'OUT_OF_STOCK',
};

export const label = (status: Status, available: number): string =>
  status === 'IN_STOCK' ? 'In Stock' : status === 'LOW_STOCK' ? `Only ${available} left` : 'Out of Stock';

const iso = (t: Timestamp | undefined): string =>
  t === undefined ? new Date(0).toISOString() : timestampDate(t).toISOString();

export type Node = { location: string } | { region: string };

export const toAvailability = (level: StockLevel, node: Node): z.infer<typeof availability> => {
  const status = STATUS[level.status];
  const available = Number(level.available);
  const region = 'region' in node ? { locationCount: level.locationCount } : {};
  return {
    sku: level.sku,
    ...node,
    ...region,
    available,
    status,
    label: label(status, available),
    asOf: iso(level.asOf),
    stale: level.stale,
  };
};

export const toStockLevel = (level: StockLevel): z.infer<typeof stockLevel> => {
  const status = STATUS[level.status];
  const available = Number(level.available);
  return {
    sku: level.sku,
    location: level.locationId,
    onHand: Number(level.onHand),
    reserved: Number(level.reserved),
    committed: Number(level.committed),
    available,
    inTransit: Number(level.inTransit),
    quarantined: Number(level.quarantined),
    physical: Number(level.onHand + level.quarantined),
    status,
    label: label(status, available),
    version: Number(level.version),
    asOf: iso(level.asOf),
    stale: level.stale,
  };
};

const RESERVATION_STATUS: Record<ReservationStatus, z.infer<typeof reservation>['status']> = {
  [ReservationStatus.UNSPECIFIED]: 'PENDING',
  [ReservationStatus.PENDING]: 'PENDING',
  [ReservationStatus.CONFIRMED]: 'CONFIRMED',
  [ReservationStatus.FULFILLED]: 'FULFILLED',
  [ReservationStatus.RELEASED]: 'RELEASED',
  [ReservationStatus.EXPIRED]: 'EXPIRED',
};

const CHANNEL: Record<Channel, z.infer<typeof reservation>['channel']> = {
  [Channel.UNSPECIFIED]: 'ECOMMERCE',
  [Channel.ECOMMERCE]: 'ECOMMERCE',
  [Channel.POS]: 'POS',
  [Channel.B2B]: 'B2B',
  [Channel.MARKETPLACE]: 'MARKETPLACE',
};

export const channelToPb = (c: z.infer<typeof reservation>['channel']): Channel => Channel[c];

export const toReservation = (r: Reservation | undefined): z.infer<typeof reservation> => {
  if (r === undefined) throw new Error('the core answered without a reservation');
  return {
    id: r.reservationId,
    status: RESERVATION_STATUS[r.status],
    channel: CHANNEL[r.channel],
    lines: r.lines.map((l) => ({
      sku: l.sku,
      location: l.locationId,
      quantity: Number(l.quantity),
      unit: l.unit,
      baseQuantity: Number(l.baseQuantity),
    })),
    expiresAt: iso(r.expiresAt),
    orderRef: r.orderRef,
    shipmentRef: r.shipmentRef,
    releaseReason: r.releaseReason,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
    version: Number(r.version),
  };
};
