// Stream and event rows built the way the core builds them: the same deciders
// (decide / decidePlace / decideTransition) and the core's own decision → appends
// step (event ids, wire names, the evolved inline snapshot), the same metadata
// shape. Only the clock differs: seeded history is dated in the past.
import * as stock from '../../core/src/domain/stock/stockItem.js';
import { decidePlace, decideTransition } from '../../core/src/domain/reservations/workflow.js';
import { DEFAULT_POLICY } from '../../contracts/policy.js';
import { reservationTtlMs } from '../../core/src/app/policy.js';
import { decisionAppends, stateOf, workflowEvents } from '../../core/src/app/appends.js';
import type { Channel } from '../../core/src/domain/shared.js';
import type { EventMetadata } from '../../core/src/store/eventStore.js';
import type { Reservation, ReservationCommand } from '../../core/src/domain/reservations/reservation.js';
import type { DecidedAppend, DomainEvent } from '../../core/src/app/appends.js';
import type { WorkflowDecision } from '../../core/src/domain/reservations/workflow.js';

export type SeedEvent = { eventId: string; eventType: string; data: unknown; metadata: EventMetadata; at: Date };

export type SeedStream = {
  kind: 'stock_item' | 'reservation';
  locationId: string;
  sku: string;
  reservationId: string;
  state: unknown;
  events: SeedEvent[];
};

export const PRODUCER = 'stockmind-seed';
export const OPERATOR = 'seed';

const meta = (correlationId: string, causationId: string, channel: string | null): EventMetadata => ({
  channel,
  operator: OPERATOR,
  correlationId,
  causationId,
  traceId: null,
  producer: PRODUCER,
  policyVersion: DEFAULT_POLICY.version,
});

/** A seeded stream as the store hands it to a command: version = events so far. */
const before = (s: SeedStream) => ({ key: { kind: s.kind }, version: s.events.length, state: s.state });

/** Appends an accepted decision's events (`events[i]` to `streams[i]`) the way the core's command handler does. */
const apply = (
  tenantId: string,
  correlationId: string,
  command: string,
  id: string,
  streams: SeedStream[],
  events: DomainEvent[][],
  at: Date,
  channel: Channel | null,
): void => {
  const metadata = meta(correlationId, id, channel);
  const appends = decisionAppends({ tenantId, command, id }, streams.map(before), events, at);
  streams.forEach((s, i) => {
    const a = appends[i] as DecidedAppend;
    s.state = a.state;
    s.events.push(...a.events.map((e) => ({ eventId: e.eventId, eventType: e.eventType, data: e.data, metadata, at })));
  });
};

/** What ReceiveStock appends for a receipt of `quantity` base units (no unit, no channel). */
export const receipt = (
  tenantId: string,
  correlationId: string,
  locationId: string,
  sku: string,
  quantity: number,
  at: Date,
): SeedStream => {
  const movementId = `seed-rcv-${locationId}-${sku}`;
  const item: SeedStream = { kind: 'stock_item', locationId, sku, reservationId: '', state: null, events: [] };
  const decision = stock.decide(
    { type: 'ReceiveStock', data: { movementId, quantity, unit: '', unitQuantity: quantity, reference: 'SEED' } },
    stateOf(before(item)) as stock.StockItem,
  );
  if (decision.kind === 'refused') throw new Error('a receipt cannot be refused');
  apply(tenantId, correlationId, 'receive', movementId, [item], [decision.events], at, null);
  return item;
};

/** A reservation workflow decision, applied to the reservation and its one line's item. */
const applyWorkflow = (
  tenantId: string,
  correlationId: string,
  command: string,
  res: SeedStream,
  item: SeedStream,
  decision: WorkflowDecision,
  at: Date,
  channel: Channel,
): void => {
  if (decision.kind === 'refused') throw new Error(`seed history refused: ${decision.refusal.reason}`);
  apply(tenantId, correlationId, command, res.reservationId, [res, item], workflowEvents(decision), at, channel);
};

export type Step = { at: Date } & (
  { type: 'confirm'; orderRef: string } | { type: 'fulfil'; shipmentRef: string } | { type: 'release'; reason: string }
);

/** A one-line reservation placed at `at`, then moved through `steps` (confirm, fulfil, release). */
export const reservationHistory = (
  tenantId: string,
  correlationId: string,
  reservationId: string,
  channel: Channel,
  item: SeedStream,
  quantity: number,
  at: Date,
  steps: Step[],
): SeedStream => {
  const res: SeedStream = {
    kind: 'reservation',
    locationId: '',
    sku: '',
    reservationId,
    state: null,
    events: [],
  };
  const lines = [{ sku: item.sku, locationId: item.locationId, quantity, unit: '', unitQuantity: quantity }];
  const { policy } = DEFAULT_POLICY;
  const expiresAt = new Date(at.getTime() + reservationTtlMs(policy, channel)).toISOString();
  const placed = decidePlace(
    { reservationId, channel, lines, expiresAt, orderRef: '', safetyStock: policy.safetyStock },
    stateOf(before(res)) as Reservation,
    [stateOf(before(item)) as stock.StockItem],
  );
  applyWorkflow(tenantId, correlationId, 'reserve', res, item, placed, at, channel);
  for (const step of steps) {
    const now = step.at.toISOString();
    const command: Exclude<ReservationCommand, { type: 'PlaceReservation' }> =
      step.type === 'confirm'
        ? { type: 'ConfirmReservation', data: { orderRef: step.orderRef, now } }
        : step.type === 'fulfil'
          ? { type: 'FulfilReservation', data: { shipmentRef: step.shipmentRef } }
          : { type: 'ReleaseReservation', data: { reason: step.reason } };
    const decision = decideTransition(command, stateOf(before(res)) as Reservation, [
      stateOf(before(item)) as stock.StockItem,
    ]);
    applyWorkflow(tenantId, correlationId, step.type, res, item, decision, step.at, channel);
  }
  return res;
};

/** COPY text format: backslash, tab, newline and carriage return escaped. */
export const copyField = (v: string): string =>
  /[\\\t\n\r]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : v;

export const STREAM_COLUMNS =
  '(tenant_id, kind, location_id, sku, reservation_id, version, state, created_at, updated_at)';
export const EVENT_COLUMNS =
  '(stream_id, version, tenant_id, event_id, event_type, schema_version, data, metadata, occurred_at, recorded_at)';

export const streamLine = (tenantId: string, s: SeedStream): string => {
  const first = s.events[0]?.at ?? new Date(0);
  const last = s.events[s.events.length - 1]?.at ?? first;
  return (
    [
      tenantId,
      s.kind,
      s.locationId,
      s.sku,
      s.reservationId,
      String(s.events.length),
      JSON.stringify(s.state),
      first.toISOString(),
      last.toISOString(),
    ]
      .map(copyField)
      .join('\t') + '\n'
  );
};

export const eventLines = (tenantId: string, streamId: string, s: SeedStream): string =>
  s.events
    .map(
      (e, i) =>
        [
          streamId,
          String(i + 1),
          tenantId,
          e.eventId,
          e.eventType,
          '1',
          JSON.stringify(e.data),
          JSON.stringify(e.metadata),
          e.at.toISOString(),
          e.at.toISOString(),
        ]
          .map(copyField)
          .join('\t') + '\n',
    )
    .join('');
