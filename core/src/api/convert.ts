// Protobuf <-> application values. Proto types stop here; int64 becomes number here.
import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import type { Duration } from '@bufbuild/protobuf/wkt';
import {
  AvailabilityStatus,
  Channel as ChannelPb,
  ReservationLineSchema,
  ReservationSchema,
  ReservationStatus,
  StockLevelSchema,
} from '../../../gen/stockmind/inventory/v1/inventory_pb.js';
import type { Reservation, StockLevel } from '../../../gen/stockmind/inventory/v1/inventory_pb.js';
import type { Channel } from '../domain/shared.js';
import type { ReservationView, StockLevelView } from '../app/views.js';

const CHANNEL_FROM_PB: Record<ChannelPb, Channel | null> = {
  [ChannelPb.UNSPECIFIED]: null,
  [ChannelPb.ECOMMERCE]: 'ECOMMERCE',
  [ChannelPb.POS]: 'POS',
  [ChannelPb.B2B]: 'B2B',
  [ChannelPb.MARKETPLACE]: 'MARKETPLACE',
};

export const channelFromPb = (c: ChannelPb): Channel | null => CHANNEL_FROM_PB[c] ?? null;

export const channelToPb = (c: Channel | null): ChannelPb => (c === null ? ChannelPb.UNSPECIFIED : ChannelPb[c]);

/** int64 to number; anything beyond the safe range becomes NaN so validation names the field. */
export const int64 = (v: bigint): number => (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER) ? Number.NaN : Number(v));

export const durationMs = (d: Duration | undefined): number | null =>
  d === undefined ? null : int64(d.seconds) * 1000 + Math.trunc(d.nanos / 1_000_000);

const ts = (iso: string) => timestampFromMs(Date.parse(iso));

export const reservationToPb = (v: ReservationView): Reservation =>
  create(ReservationSchema, {
    reservationId: v.reservationId,
    status: ReservationStatus[v.status],
    channel: channelToPb(v.channel),
    lines: v.lines.map((l) =>
      create(ReservationLineSchema, {
        sku: l.sku,
        locationId: l.locationId,
        quantity: BigInt(l.quantity),
        unit: l.unit,
        baseQuantity: BigInt(l.baseQuantity),
      }),
    ),
    expiresAt: ts(v.expiresAt),
    orderRef: v.orderRef,
    shipmentRef: v.shipmentRef,
    releaseReason: v.releaseReason,
    createdAt: ts(v.createdAt),
    updatedAt: ts(v.updatedAt),
    version: BigInt(v.version),
  });

export const stockLevelToPb = (v: StockLevelView): StockLevel =>
  create(StockLevelSchema, {
    sku: v.sku,
    locationId: v.locationId,
    onHand: BigInt(v.levels.onHand),
    reserved: BigInt(v.levels.reserved),
    committed: BigInt(v.levels.committed),
    available: BigInt(v.available),
    inTransit: BigInt(v.levels.inTransit),
    quarantined: BigInt(v.levels.quarantined),
    status: AvailabilityStatus[v.status],
    version: BigInt(v.version),
    asOf: ts(v.asOf),
    stale: v.stale,
  });
