// Protobuf <-> application values. Proto types stop here; int64 becomes number here.
import { create } from '@bufbuild/protobuf';
import { DurationSchema, timestampFromMs } from '@bufbuild/protobuf/wkt';
import type { Duration, Timestamp } from '@bufbuild/protobuf/wkt';
import {
  LocationKind as LocationKindPb,
  LocationSchema,
  ProductSchema,
  UnitOfMeasureSchema,
} from '../../../gen/stockmind/inventory/v1/catalog_pb.js';
import { MovementResultSchema } from '../../../gen/stockmind/inventory/v1/movements_pb.js';
import { ReplenishmentThresholdSchema, TenantPolicySchema } from '../../../gen/stockmind/inventory/v1/policy_pb.js';
import {
  ReservationLineSchema,
  ReservationSchema,
  ReservationStatus,
} from '../../../gen/stockmind/inventory/v1/reservations_pb.js';
import {
  AvailabilityStatus,
  Channel as ChannelPb,
  StockLevelSchema,
} from '../../../gen/stockmind/inventory/v1/stock_pb.js';
import type { Location, Product } from '../../../gen/stockmind/inventory/v1/catalog_pb.js';
import type { MovementResult as MovementResultPb } from '../../../gen/stockmind/inventory/v1/movements_pb.js';
import type { TenantPolicy as TenantPolicyPb } from '../../../gen/stockmind/inventory/v1/policy_pb.js';
import type { Reservation } from '../../../gen/stockmind/inventory/v1/reservations_pb.js';
import type { StockLevel } from '../../../gen/stockmind/inventory/v1/stock_pb.js';
import type { LocationKind, LocationRow, ProductRow } from '../store/catalog.js';
import type { MovementResult } from '../app/movements.js';
import type { TenantPolicy } from '../../../contracts/policy.js';
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
export const int64 = (v: bigint): number =>
  v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER) ? Number.NaN : Number(v);

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
    aggregated: v.aggregated ?? false,
    locationCount: v.locationCount ?? 1,
  });

const LOCATION_KIND_FROM_PB: Record<LocationKindPb, LocationKind | null> = {
  [LocationKindPb.UNSPECIFIED]: null,
  [LocationKindPb.WAREHOUSE]: 'WAREHOUSE',
  [LocationKindPb.STORE]: 'STORE',
  [LocationKindPb.REGION]: 'REGION',
};

export const locationKindFromPb = (k: LocationKindPb): LocationKind | null => LOCATION_KIND_FROM_PB[k] ?? null;

const tsOf = (d: Date) => timestampFromMs(d.getTime());

/** An optional protobuf timestamp as a Date; out-of-range values become an invalid Date the checks name. */
export const dateFromPb = (t: Timestamp | undefined): Date | null =>
  t === undefined ? null : new Date(int64(t.seconds) * 1000 + Math.trunc(t.nanos / 1e6));

export const productToPb = (p: ProductRow): Product =>
  create(ProductSchema, {
    sku: p.sku,
    name: p.name,
    baseUnit: p.baseUnit,
    units: p.units.map((u) => create(UnitOfMeasureSchema, { name: u.name, baseUnits: BigInt(u.baseUnits) })),
    version: BigInt(p.version),
    updatedAt: tsOf(p.updatedAt),
  });

export const locationToPb = (l: LocationRow): Location =>
  create(LocationSchema, {
    locationId: l.locationId,
    name: l.name,
    kind: LocationKindPb[l.kind],
    parentId: l.parentId,
    version: BigInt(l.version),
    updatedAt: tsOf(l.updatedAt),
  });

export const movementResultToPb = (r: MovementResult): MovementResultPb =>
  create(MovementResultSchema, {
    movementId: r.movementId,
    level: stockLevelToPb(r.level),
    baseQuantity: BigInt(r.baseQuantity),
  });

const duration = (seconds: number) => create(DurationSchema, { seconds: BigInt(seconds) });
const seconds = (d: Duration | undefined) => (d === undefined ? undefined : int64(d.seconds) + d.nanos / 1e9);

/** The policy as sent, for the one zod schema to validate; unset fields stay unset and take defaults. */
export const policyFromPb = (p: TenantPolicyPb | undefined): unknown => {
  if (p === undefined) return {};
  const ttl = {
    ECOMMERCE: seconds(p.ecommerceTtl),
    MARKETPLACE: seconds(p.marketplaceTtl),
    B2B: seconds(p.b2bTtl),
    POS: seconds(p.posTtl),
  };
  const maxTtl = {
    ECOMMERCE: seconds(p.ecommerceMaxTtl),
    MARKETPLACE: seconds(p.marketplaceMaxTtl),
    B2B: seconds(p.b2bMaxTtl),
    POS: seconds(p.posMaxTtl),
  };
  const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return defined({
    reservationTtlSeconds: defined(ttl),
    maxReservationTtlSeconds: defined(maxTtl),
    safetyStock: p.safetyStock === undefined ? undefined : int64(p.safetyStock),
    lowStockThreshold: p.lowStockThreshold === undefined ? undefined : int64(p.lowStockThreshold),
    returnWindowDays: p.returnWindowDays,
    qualityCheckRequired: p.qualityCheckRequired,
    timeZone: p.timeZone,
    replenishment: p.replenishment.map((r) => ({
      sku: r.sku,
      locationId: r.locationId,
      reorderPoint: int64(r.reorderPoint),
      targetLevel: int64(r.targetLevel),
    })),
  });
};

export const policyToPb = (p: TenantPolicy): TenantPolicyPb =>
  create(TenantPolicySchema, {
    ecommerceTtl: duration(p.reservationTtlSeconds.ECOMMERCE),
    marketplaceTtl: duration(p.reservationTtlSeconds.MARKETPLACE),
    b2bTtl: duration(p.reservationTtlSeconds.B2B),
    posTtl: duration(p.reservationTtlSeconds.POS),
    ecommerceMaxTtl: duration(p.maxReservationTtlSeconds.ECOMMERCE),
    marketplaceMaxTtl: duration(p.maxReservationTtlSeconds.MARKETPLACE),
    b2bMaxTtl: duration(p.maxReservationTtlSeconds.B2B),
    posMaxTtl: duration(p.maxReservationTtlSeconds.POS),
    safetyStock: BigInt(p.safetyStock),
    lowStockThreshold: BigInt(p.lowStockThreshold),
    returnWindowDays: p.returnWindowDays,
    qualityCheckRequired: p.qualityCheckRequired,
    timeZone: p.timeZone,
    replenishment: p.replenishment.map((r) =>
      create(ReplenishmentThresholdSchema, {
        sku: r.sku,
        locationId: r.locationId,
        reorderPoint: BigInt(r.reorderPoint),
        targetLevel: BigInt(r.targetLevel),
      }),
    ),
  });
