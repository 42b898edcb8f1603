// An order-status notification shaped after Amazon's seller notifications: a
// notification envelope around one order whose status moved.
//
//   Pending   → the buyer ordered, payment not yet captured → reserve
//   Unshipped → paid, waiting to ship                       → confirm
//   Canceled  → cancelled by buyer or marketplace           → release
//   Shipped   → nothing to change here (the warehouse records the shipment)
import { z } from 'zod';
import { externalId, freeText, quantity, stockKey } from './fields.js';
import { mergeLines } from './types.js';
import type { MarketplaceAdapter } from './types.js';

const envelope = z.object({ notificationId: externalId });

const schema = envelope
  .extend({
    notificationType: z.literal('ORDER_STATUS_CHANGED'),
    eventTime: z.iso.datetime({ offset: true }),
    payload: z.object({
      order: z.object({
        amazonOrderId: externalId,
        orderStatus: z.enum(['Pending', 'Unshipped', 'Canceled', 'Shipped']),
        fulfillmentNodeId: stockKey.optional(),
        cancellationReason: freeText.optional(),
        items: z
          .array(z.object({ orderItemId: externalId, sellerSku: stockKey, quantityOrdered: quantity }))
          .max(100)
          .optional(),
      }),
    }),
  })
  .superRefine((n, ctx) => {
    const o = n.payload.order;
    if (o.orderStatus !== 'Pending') return;
    if (o.fulfillmentNodeId === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['payload', 'order', 'fulfillmentNodeId'],
        message: 'required for a Pending order: the StockMind location that ships it',
      });
    if ((o.items ?? []).length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['payload', 'order', 'items'],
        message: 'a Pending order needs at least one item',
      });
  });

export const amazonAdapter: MarketplaceAdapter<typeof schema> = {
  name: 'amazon',
  schema,
  eventIdOf: (body) => envelope.safeParse(body).data?.notificationId ?? null,
  toNotification(n) {
    const o = n.payload.order;
    const orderId = o.amazonOrderId;
    const eventId = n.notificationId;
    switch (o.orderStatus) {
      case 'Pending':
        return {
          eventId,
          action: {
            kind: 'reserve',
            orderId,
            lines: mergeLines(
              (o.items ?? []).map((i) => ({
                sku: i.sellerSku,
                locationId: o.fulfillmentNodeId ?? '',
                quantity: i.quantityOrdered,
              })),
            ),
          },
        };
      case 'Unshipped':
        return { eventId, action: { kind: 'confirm', orderId } };
      case 'Canceled':
        return {
          eventId,
          action: { kind: 'release', orderId, reason: `amazon: ${o.cancellationReason ?? 'order canceled'}` },
        };
      case 'Shipped':
        return {
          eventId,
          action: {
            kind: 'ignore',
            orderId,
            note: 'shipped: the shipment is recorded by the warehouse (FulfilReservation)',
          },
        };
      default: {
        const never: never = o.orderStatus;
        throw new Error(`unhandled status ${String(never)}`);
      }
    }
  },
};
