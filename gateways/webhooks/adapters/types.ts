// What a marketplace notification means for stock, whatever its shape.
import type { z } from 'zod';

export type OrderLine = { sku: string; locationId: string; quantity: number };

export type OrderAction =
  | { kind: 'reserve'; orderId: string; lines: OrderLine[] }
  | { kind: 'confirm'; orderId: string }
  | { kind: 'release'; orderId: string; reason: string }
  /** A notification we understand but that changes no stock here (e.g. shipped: the warehouse records it). */
  | { kind: 'ignore'; orderId: string; note: string };

export type MarketplaceNotification = { eventId: string; action: OrderAction };

export type MarketplaceAdapter<S extends z.ZodType = z.ZodType> = {
  name: string;
  schema: S;
  /** The marketplace's event id, when the body has a readable one (to record an answer for it). */
  eventIdOf(body: unknown): string | null;
  toNotification(payload: z.infer<S>): MarketplaceNotification;
};

/** Marketplaces may list one SKU on several order items; the core takes each (sku, location) once. */
export const mergeLines = (lines: OrderLine[]): OrderLine[] => {
  const merged = new Map<string, OrderLine>();
  for (const l of lines) {
    const key = JSON.stringify([l.locationId, l.sku]);
    const seen = merged.get(key);
    merged.set(key, seen === undefined ? { ...l } : { ...seen, quantity: seen.quantity + l.quantity });
  }
  return [...merged.values()];
};
