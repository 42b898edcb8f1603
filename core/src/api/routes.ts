// The InventoryService adapter: parse, authorize, call the use case, map the result.
import { InventoryService } from '../../../gen/stockmind/inventory/v1/inventory_pb.js';
import { Consistency } from '../../../gen/stockmind/inventory/v1/stock_pb.js';
import { callerFor } from './context.js';
import { channelFromPb, durationMs, int64, reservationToPb, stockLevelToPb } from './convert.js';
import { unwrap } from './errors.js';
import type { ServiceImpl } from '@connectrpc/connect';
import { watchStock } from '../app/watch.js';
import type { Inventory } from '../app/inventory.js';
import type { PolicySource } from '../store/policies.js';
import type { StockWatchHub } from '../readmodels/stockWatch.js';
import { catalogHandlers, movementHandlers, policyHandlers } from './stockRoutes.js';
import { historyHandlers } from './historyRoutes.js';
import { withTextRule } from './textRule.js';

export type RouteDeps = { inventory: Inventory; hub: StockWatchHub; policies: PolicySource };

/**
 * The InventoryService handlers, served by the Connect router and by the grpc-js server alike; every
 * request's text fields pass the text rule first.
 */
export const inventoryImpl = (deps: RouteDeps): Partial<ServiceImpl<typeof InventoryService>> =>
  withTextRule(InventoryService, handlers(deps));

const handlers = ({ inventory, hub, policies }: RouteDeps): Partial<ServiceImpl<typeof InventoryService>> => ({
  ...catalogHandlers(inventory),
  ...movementHandlers(inventory),
  ...policyHandlers(inventory),
  ...historyHandlers(inventory),
  async reserveStock(req, ctx) {
    const input = {
      reservationId: req.reservationId,
      channel: channelFromPb(req.channel),
      lines: req.lines.map((l) => ({
        sku: l.sku,
        locationId: l.locationId,
        quantity: int64(l.quantity),
        unit: l.unit,
      })),
      ttlMs: durationMs(req.ttl),
      orderRef: req.orderRef,
    };
    const caller = callerFor(ctx, 'reserve', {
      channel: input.channel,
      locations: input.lines.map((l) => l.locationId),
    });
    return { reservation: reservationToPb(unwrap(await inventory.reserve(caller, input))) };
  },
  async confirmReservation(req, ctx) {
    const out = await inventory.confirm(callerFor(ctx, 'transition'), req.reservationId, req.orderRef);
    return { reservation: reservationToPb(unwrap(out)) };
  },
  async fulfilReservation(req, ctx) {
    const out = await inventory.fulfil(callerFor(ctx, 'transition'), req.reservationId, req.shipmentRef);
    return { reservation: reservationToPb(unwrap(out)) };
  },
  async releaseStock(req, ctx) {
    const out = await inventory.release(callerFor(ctx, 'transition'), req.reservationId, req.reason);
    return { reservation: reservationToPb(unwrap(out)) };
  },
  async getReservation(req, ctx) {
    return { reservation: reservationToPb(await inventory.getReservation(callerFor(ctx, 'read'), req.reservationId)) };
  },
  async receiveStock(req, ctx) {
    const input = {
      movementId: req.movementId,
      sku: req.sku,
      locationId: req.locationId,
      quantity: int64(req.quantity),
      unit: req.unit,
      reference: req.reference,
      channel: channelFromPb(req.channel),
      expectedMovementId: req.expectedMovementId,
    };
    const caller = callerFor(ctx, 'receive', { locations: [input.locationId] });
    const result = await inventory.receive(caller, input);
    return {
      movementId: result.movementId,
      level: stockLevelToPb(result.level),
      baseQuantity: BigInt(result.baseQuantity),
    };
  },
  async queryStock(req, ctx) {
    const keys = req.keys.map((k) => ({ sku: k.sku, locationId: k.locationId }));
    const caller = callerFor(ctx, 'read', { locations: keys.map((k) => k.locationId) });
    const consistency = req.consistency === Consistency.STRONG ? 'STRONG' : 'EVENTUAL';
    const levels = await inventory.queryStock(caller, keys, consistency);
    return { levels: levels.map(stockLevelToPb) };
  },
  async *watchStock(req, ctx) {
    const keys = req.keys.map((k) => ({ sku: k.sku, locationId: k.locationId }));
    const filter = keys.length > 0 ? { keys } : { locationId: req.locationId };
    const caller = callerFor(ctx, 'read', {
      locations: keys.length > 0 ? keys.map((k) => k.locationId) : [req.locationId],
    });
    // Start (and read the current levels) only once the hub's subscription is on the broker, so no
    // change after the first message is missed; while the broker is down watchStock says UNAVAILABLE.
    // Its errors are mapped by the interceptor (Connect) and the grpc-js server, like a unary call's.
    await hub.subscribed();
    for await (const update of watchStock({ hub, inventory, policies }, caller, filter, req.sendCurrent, ctx.signal)) {
      yield { level: stockLevelToPb(update.level), eventId: update.eventId };
    }
  },
});
