// Helpers for the webhook specs: an admin client on a core process, stock to
// sell, and signed marketplace requests.
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { LocationKind } from '../../gen/stockmind/inventory/v1/catalog_pb.js';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { signToken } from '../../platform/auth/tokens.js';
import { DEVELOPMENT_JWT_SECRET } from '../../platform/config.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signatureHex } from '../../gateways/webhooks/signature.js';
import type { Client } from '@connectrpc/connect';

export type AdminClient = { client: Client<typeof InventoryService>; headers: Record<string, string> };

export const adminClient = async (coreUrl: string, tenant: string): Promise<AdminClient> => {
  const token = await signToken(
    DEVELOPMENT_JWT_SECRET,
    { tenant, sub: 'spec-admin', roles: ['admin'], locations: [], channels: [] },
    3600,
  );
  return {
    client: createClient(InventoryService, createGrpcTransport({ baseUrl: coreUrl })),
    headers: { authorization: `Bearer ${token}` },
  };
};

/** Registers the SKU and location where the catalog exists (the core may not have it yet), then receives stock. */
export const stockUp = async (
  a: AdminClient,
  sku: string,
  locationId: string,
  quantity: number,
  movementId: string,
): Promise<void> => {
  const tolerate = (err: unknown) => {
    if (ConnectError.from(err).code !== Code.Unimplemented) throw err;
  };
  await a.client
    .upsertLocation(
      { locationId, name: locationId, kind: LocationKind.WAREHOUSE, parentId: '' },
      { headers: a.headers },
    )
    .catch(tolerate);
  await a.client.upsertProduct({ sku, name: sku, baseUnit: 'unit', units: [] }, { headers: a.headers }).catch(tolerate);
  await a.client.receiveStock(
    { movementId, sku, locationId, quantity: BigInt(quantity), reference: 'spec' },
    { headers: a.headers },
  );
};

export const signedHeaders = (
  secret: string,
  body: string,
  at = Math.floor(Date.now() / 1000),
): Record<string, string> => ({
  'content-type': 'application/json',
  [TIMESTAMP_HEADER]: String(at),
  [SIGNATURE_HEADER]: `v1=${signatureHex(secret, String(at), body)}`,
});

export const amazonOrder = (o: {
  notificationId: string;
  orderId: string;
  status: 'Pending' | 'Unshipped' | 'Canceled' | 'Shipped';
  node?: string;
  items?: { sku: string; qty: number }[];
}) => ({
  notificationId: o.notificationId,
  notificationType: 'ORDER_STATUS_CHANGED',
  eventTime: new Date().toISOString(),
  payload: {
    order: {
      amazonOrderId: o.orderId,
      orderStatus: o.status,
      ...(o.node === undefined ? {} : { fulfillmentNodeId: o.node }),
      ...(o.items === undefined
        ? {}
        : {
            items: o.items.map((i, n) => ({
              orderItemId: `${o.orderId}-${n + 1}`,
              sellerSku: i.sku,
              quantityOrdered: i.qty,
            })),
          }),
    },
  },
});

export const jumiaOrder = (o: {
  eventId: string;
  orderNumber: string;
  event: 'order.created' | 'order.paid' | 'order.cancelled' | 'order.shipped';
  warehouse?: string;
  items?: { sku: string; qty: number }[];
  reason?: string;
}) => ({
  event_id: o.eventId,
  event: o.event,
  occurred_at: new Date().toISOString(),
  order: {
    order_number: o.orderNumber,
    ...(o.warehouse === undefined ? {} : { warehouse: o.warehouse }),
    ...(o.reason === undefined ? {} : { cancel_reason: o.reason }),
    ...(o.items === undefined ? {} : { items: o.items.map((i) => ({ seller_sku: i.sku, qty: i.qty })) }),
  },
});
