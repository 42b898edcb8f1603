// What a command answers: its value, or a refusal. A refusal is an expected business "no" (not
// enough stock, a reservation already released), a value the API maps once, never a thrown error.
import type { ReservationRefusal } from '../domain/reservations/reservation.js';
import type { StockRefusal } from '../domain/stock/stockItem.js';
import type { Channel } from '../domain/shared.js';

/** What a stock item refused, and which item: a movement's or a reservation line's. */
export type ItemRefusal = StockRefusal & { sku: string; locationId: string };

/** A request the tenant's policy does not allow: a hold longer than its channel's maximum. */
export type PolicyRefusal = { reason: 'TTL_ABOVE_POLICY_MAX'; channel: Channel; ttlMs: number; maxTtlMs: number };

export type Refusal = ReservationRefusal | ItemRefusal | PolicyRefusal;

export type Outcome<T, R extends Refusal = Refusal> = { ok: true; value: T } | { ok: false; refusal: R };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
