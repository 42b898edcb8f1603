// Catalog, network, movements and policies: parse, authorize, call the use case, map the result.
import type { InventoryService } from '../../../gen/stockmind/inventory/v1/inventory_pb.js';
import { QualityOutcome } from '../../../gen/stockmind/inventory/v1/movements_pb.js';
import { Channel as ChannelPb } from '../../../gen/stockmind/inventory/v1/stock_pb.js';
import { AdjustmentKind as AdjustmentKindPb } from '../../../gen/stockmind/inventory/v1/movements_pb.js';
import { callerFor } from './context.js';
import {
  channelFromPb,
  dateFromPb,
  int64,
  locationKindFromPb,
  locationToPb,
  movementResultToPb,
  policyFromPb,
  policyToPb,
  productToPb,
  stockLevelToPb,
} from './convert.js';
import { unwrap } from './errors.js';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import type { ServiceImpl } from '@connectrpc/connect';
import type { Inventory } from '../app/inventory.js';
import type { AdjustmentKind } from '../app/sales.js';

const ADJUSTMENT: Record<AdjustmentKindPb, AdjustmentKind | null> = {
  [AdjustmentKindPb.UNSPECIFIED]: null,
  [AdjustmentKindPb.CYCLE_COUNT]: 'CYCLE_COUNT',
  [AdjustmentKindPb.DAMAGE]: 'DAMAGE',
  [AdjustmentKindPb.SHRINKAGE]: 'SHRINKAGE',
  [AdjustmentKindPb.SENSOR]: 'SENSOR',
};

const OUTCOME: Record<QualityOutcome, boolean | null> = {
  [QualityOutcome.UNSPECIFIED]: null,
  [QualityOutcome.PASSED]: true,
  [QualityOutcome.FAILED]: false,
};

type Impl = Partial<ServiceImpl<typeof InventoryService>>;

export const catalogHandlers = (inventory: Inventory): Impl => ({
  async upsertProduct(req, ctx) {
    const units = req.units.map((u) => ({ name: u.name, baseUnits: int64(u.baseUnits) }));
    const row = await inventory.catalog.putProduct(callerFor(ctx, 'manage'), {
      sku: req.sku,
      name: req.name,
      baseUnit: req.baseUnit,
      units,
    });
    return { product: productToPb(row) };
  },
  async getProduct(req, ctx) {
    return { product: productToPb(await inventory.catalog.getProduct(callerFor(ctx, 'read'), req.sku)) };
  },
  async listProducts(req, ctx) {
    const page = await inventory.catalog.pageOfProducts(callerFor(ctx, 'read'), req.pageSize, req.pageToken);
    return { products: page.products.map(productToPb), nextPageToken: page.next };
  },
  async upsertLocation(req, ctx) {
    const input = {
      locationId: req.locationId,
      name: req.name,
      kind: locationKindFromPb(req.kind),
      parentId: req.parentId,
    };
    return { location: locationToPb(await inventory.catalog.putLocation(callerFor(ctx, 'manage'), input)) };
  },
  async listLocations(req, ctx) {
    return { locations: (await inventory.catalog.listLocations(callerFor(ctx, 'read'), req.rootId)).map(locationToPb) };
  },
});

export const movementHandlers = (inventory: Inventory): Impl => ({
  async recordSale(req, ctx) {
    const input = {
      movementId: req.movementId,
      sku: req.sku,
      locationId: req.locationId,
      quantity: int64(req.quantity),
      unit: req.unit,
      channel: req.channel === ChannelPb.UNSPECIFIED ? ('POS' as const) : channelFromPb(req.channel),
      reference: req.reference,
      occurredAt: dateFromPb(req.occurredAt),
    };
    const caller = callerFor(ctx, 'move', { channel: input.channel, locations: [input.locationId] });
    return { result: movementResultToPb(unwrap(await inventory.sale(caller, input))) };
  },
  async adjustStock(req, ctx) {
    const input = {
      movementId: req.movementId,
      sku: req.sku,
      locationId: req.locationId,
      kind: ADJUSTMENT[req.kind] ?? null,
      quantity: int64(req.quantity),
      delta: int64(req.delta),
      unit: req.unit,
      reason: req.reason,
      channel: channelFromPb(req.channel),
      occurredAt: dateFromPb(req.occurredAt),
    };
    const out = unwrap(await inventory.adjust(callerFor(ctx, 'move', { locations: [input.locationId] }), input));
    return { result: movementResultToPb(out), difference: BigInt(out.difference) };
  },
  async expectStock(req, ctx) {
    const input = {
      movementId: req.movementId,
      sku: req.sku,
      locationId: req.locationId,
      quantity: int64(req.quantity),
      unit: req.unit,
      reference: req.reference,
      expectedAt: dateFromPb(req.expectedAt),
    };
    return {
      result: movementResultToPb(
        await inventory.expect(callerFor(ctx, 'receive', { locations: [input.locationId] }), input),
      ),
    };
  },
  async dispatchTransfer(req, ctx) {
    const input = {
      transferId: req.transferId,
      sku: req.sku,
      fromLocationId: req.fromLocationId,
      toLocationId: req.toLocationId,
      quantity: int64(req.quantity),
      unit: req.unit,
      reference: req.reference,
      reason: req.reason,
    };
    const out = unwrap(await inventory.dispatch(callerFor(ctx, 'move', { locations: [input.fromLocationId] }), input));
    return {
      transferId: out.transferId,
      source: stockLevelToPb(out.source),
      destination: stockLevelToPb(out.destination),
      baseQuantity: BigInt(out.baseQuantity),
    };
  },
  async receiveTransfer(req, ctx) {
    const input = {
      movementId: req.movementId,
      transferId: req.transferId,
      quantity: int64(req.quantity),
      unit: req.unit,
      reason: req.reason,
    };
    const out = unwrap(await inventory.receiveTransfer(callerFor(ctx, 'move'), input));
    return { result: movementResultToPb(out), shortage: BigInt(out.shortage) };
  },
  async recordReturn(req, ctx) {
    const input = {
      movementId: req.movementId,
      sku: req.sku,
      locationId: req.locationId,
      quantity: int64(req.quantity),
      unit: req.unit,
      channel: channelFromPb(req.channel),
      soldAt: dateFromPb(req.soldAt),
      reference: req.reference,
      reason: req.reason,
    };
    const out = unwrap(await inventory.recordReturn(callerFor(ctx, 'move', { locations: [input.locationId] }), input));
    return { result: movementResultToPb(out), quarantined: out.quarantined };
  },
  async completeQualityCheck(req, ctx) {
    const input = {
      movementId: req.movementId,
      sku: req.sku,
      locationId: req.locationId,
      quantity: int64(req.quantity),
      unit: req.unit,
      passed: OUTCOME[req.outcome] ?? null,
      reason: req.reason,
    };
    return {
      result: movementResultToPb(
        unwrap(await inventory.qualityCheck(callerFor(ctx, 'move', { locations: [input.locationId] }), input)),
      ),
    };
  },
});

export const policyHandlers = (inventory: Inventory): Impl => ({
  async getTenantPolicy(_req, ctx) {
    const r = await inventory.getPolicy(callerFor(ctx, 'policy_read'));
    return {
      policy: policyToPb(r.policy),
      version: BigInt(r.version),
      updatedBy: r.updatedBy,
      ...(r.updatedAt === null ? {} : { updatedAt: timestampFromMs(r.updatedAt.getTime()) }),
    };
  },
  async updateTenantPolicy(req, ctx) {
    const r = await inventory.putPolicy(callerFor(ctx, 'manage'), policyFromPb(req.policy), int64(req.expectedVersion));
    return { policy: policyToPb(r.policy), version: BigInt(r.version) };
  },
});
