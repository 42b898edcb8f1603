// An order event shaped after Jumia's seller webhooks: a flat event name and
// one order object, snake_case.
//
//   order.created   → reserve
//   order.paid      → confirm
//   order.cancelled → release
//   order.shipped   → nothing to change here (the warehouse records the shipment)
import { z } from 'zod';
import { externalId, freeText, quantity, stockKey } from './fields.js';
import { mergeLines } from './types.js';
import type { MarketplaceAdapter } from './types.js';

const envelope = z.object({ event_id: externalId });

const schema = envelope
  .extend({
    event: z.enum(['order.created', 'order.paid', 'order.cancelled', 'order.shipped']),
    occurred_at: z.iso.datetime({ offset: true }),
    order: z.object({
      order_number: externalId,
      warehouse: stockKey.optional(),
      cancel_reason: freeText.optional(),
      items: z
        .array(z.object({ seller_sku: stockKey, qty: quantity }))
        .max(100)
        .optional(),
    }),
  })
  .superRefine((e, ctx) => {
    if (e.event !== 'order.created') return;
    if (e.order.warehouse === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['order', 'warehouse'],
        message: 'required for order.created: the StockMind location that ships it',
      });
    if ((e.order.items ?? []).length === 0)
      ctx.addIssue({ code: 'custom', path: ['order', 'items'], message: 'order.created needs at least one item' });
  });

export const jumiaAdapter: MarketplaceAdapter<typeof schema> = {
  name: 'jumia',
  schema,
  eventIdOf: (body) => envelope.safeParse(body).data?.event_id ?? null,
  toNotification(e) {
    const orderId = e.order.order_number;
    const eventId = e.event_id;
    switch (e.event) {
      case 'order.created':
        return {
          eventId,
          action: {
            kind: 'reserve',
            orderId,
            lines: mergeLines(
              (e.order.items ?? []).map((i) => ({
                sku: i.seller_sku,
                locationId: e.order.warehouse ?? '',
                quantity: i.qty,
              })),
            ),
          },
        };
      case 'order.paid':
        return { eventId, action: { kind: 'confirm', orderId } };
      case 'order.cancelled':
        return {
          eventId,
          action: { kind: 'release', orderId, reason: `jumia: ${e.order.cancel_reason ?? 'order cancelled'}` },
        };
      case 'order.shipped':
        return {
          eventId,
          action: {
            kind: 'ignore',
            orderId,
            note: 'shipped: the shipment is recorded by the warehouse (FulfilReservation)',
          },
        };
      default: {
        const never: never = e.event;
        throw new Error(`unhandled event ${String(never)}`);
      }
    }
  },
};
