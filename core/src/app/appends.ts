// Pure: what an accepted decision appends. The core's command handler and the seed's COPY path both
// build their rows here, so seeded history has the same event ids, wire names and snapshots.
import * as stock from '../domain/stock/stockItem.js';
import * as reservation from '../domain/reservations/reservation.js';
import { wireEventType } from '../../../contracts/eventTypes.js';
import { eventIdFor } from '../../../platform/ids.js';
import type { StockItem, StockItemEvent } from '../domain/stock/stockItem.js';
import type { Reservation, ReservationEvent } from '../domain/reservations/reservation.js';
import type { WorkflowDecision } from '../domain/reservations/workflow.js';
import type { NewEvent, StreamKey } from '../store/eventStore.js';

export type StreamState = StockItem | Reservation;
export type DomainEvent = StockItemEvent | ReservationEvent;

/** A stream as far as appending needs it: which kind, how far it got, its inline snapshot. */
export type StreamBefore = { key: { kind: StreamKey['kind'] }; version: number; state: unknown };

export type DecidedAppend = { events: NewEvent[]; state: StreamState };

const KINDS = {
  stock_item: {
    context: 'stock',
    initial: stock.initialState,
    evolve: (s: StreamState, e: DomainEvent) => stock.evolve(s as StockItem, e as StockItemEvent),
  },
  reservation: {
    context: 'reservations',
    initial: reservation.initialState,
    evolve: (s: StreamState, e: DomainEvent) => reservation.evolve(s as Reservation, e as ReservationEvent),
  },
} as const;

/** The state a decider sees: the inline snapshot, or the initial state of a stream with no events yet. */
export const stateOf = (s: StreamBefore): StreamState =>
  s.version === 0 ? KINDS[s.key.kind].initial() : (s.state as StreamState);

/** A workflow decision's events per stream: the reservation's first, then each line's stock item. */
export const workflowEvents = (d: Extract<WorkflowDecision, { kind: 'accepted' }>): DomainEvent[][] => [
  d.reservation,
  ...d.stock,
];

/**
 * Per stream (`events[i]` go to `streams[i]`): its events with ids derived from the command (a
 * retry yields the same ids) and wire names, and the state they evolve it to.
 */
export const decisionAppends = (
  command: { tenantId: string; command: string; id: string },
  streams: StreamBefore[],
  events: DomainEvent[][],
  occurredAt: Date,
): DecidedAppend[] =>
  streams.map((s, i) => {
    const kind = KINDS[s.key.kind];
    const decided = events[i] ?? [];
    return {
      state: decided.reduce(kind.evolve, stateOf(s)),
      events: decided.map((e, j) => ({
        eventId: eventIdFor(command.tenantId, command.command, command.id, i, j),
        eventType: wireEventType(kind.context, e.type),
        schemaVersion: 1,
        data: e.data,
        occurredAt,
      })),
    };
  });
