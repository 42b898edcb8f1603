// ReserveStock: a hold on every line or on none, until the channel's TTL (or the one asked for).
import { decidePlace } from '../domain/reservations/workflow.js';
import { reservationStreamKey, stockItemStreamKey } from '../store/eventStore.js';
import { requestHash } from '../../../platform/ids.js';
import { workflowEvents } from './appends.js';
import { maxReservationTtlMs, reservationTtlMs } from './policy.js';
import { checkReserve } from './validation.js';
import { reservationAfter } from './views.js';
import type { Reservation } from '../domain/reservations/reservation.js';
import type { StockItem } from '../domain/stock/stockItem.js';
import type { WorkflowRefusal } from '../domain/reservations/workflow.js';
import type { Caller } from './caller.js';
import type { Catalog } from './catalog.js';
import type { CommandHandler } from './commandSpec.js';
import type { Outcome, PolicyRefusal } from './outcome.js';
import type { ReserveInput } from './validation.js';
import type { ReservationView } from './views.js';

const lineFields = (i: number) => ({
  sku: `lines[${i}].sku`,
  locationId: `lines[${i}].location_id`,
  quantity: `lines[${i}].quantity`,
  unit: `lines[${i}].unit`,
});

export const createReserve =
  (deps: { catalog: Catalog; handler: Pick<CommandHandler, 'handle'> }) =>
  async (caller: Caller, input: ReserveInput): Promise<Outcome<ReservationView, WorkflowRefusal | PolicyRefusal>> => {
    checkReserve(input);
    const channel = input.channel ?? 'ECOMMERCE';
    const base = await deps.catalog.toBase(
      caller.tenantId,
      input.lines.map((l, i) => ({ ...l, fields: lineFields(i) })),
    );
    const lines = input.lines.map((l, i) => ({
      sku: l.sku,
      locationId: l.locationId,
      quantity: base[i] as number,
      unit: l.unit,
      unitQuantity: l.quantity,
    }));
    const { reservationId } = input;
    return deps.handler.handle<ReservationView, WorkflowRefusal | PolicyRefusal>(caller, {
      command: 'reserve',
      id: reservationId,
      // The fingerprint covers the request as sent, before defaults: a retry after a policy change still matches.
      idempotency: { scope: 'reservation', requestHash: requestHash(input) },
      channel,
      lostDemand: true,
      streams: [reservationStreamKey(reservationId), ...lines.map((l) => stockItemStreamKey(l.locationId, l.sku))],
      decide: ([res, ...items], now, policy) => {
        // Under the policy the command runs with, so a retry after a policy change still replays.
        const maxTtlMs = maxReservationTtlMs(policy, channel);
        if (input.ttlMs !== null && input.ttlMs > maxTtlMs)
          return {
            kind: 'refused',
            refusal: { reason: 'TTL_ABOVE_POLICY_MAX', channel, ttlMs: input.ttlMs, maxTtlMs },
          };
        const expiresAt = new Date(now.getTime() + (input.ttlMs ?? reservationTtlMs(policy, channel)));
        const place = { reservationId, channel, lines, expiresAt: expiresAt.toISOString(), orderRef: input.orderRef };
        const d = decidePlace({ ...place, safetyStock: policy.safetyStock }, res as Reservation, items as StockItem[]);
        return d.kind === 'refused'
          ? d
          : { kind: 'accepted', events: workflowEvents(d), expiry: { reservationId, expiresAt } };
      },
      answer: reservationAfter,
    });
  };
