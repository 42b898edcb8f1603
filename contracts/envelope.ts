// The event envelope on the wire (JSON), as ARCHITECTURE.md names it.
import { encodePart } from './names.js';

export type StreamRef = { kind: 'stock_item' | 'reservation'; locationId: string; sku: string; reservationId: string };

export type Envelope = {
  eventId: string;
  eventType: string;
  schemaVersion: number;
  tenantId: string;
  /** Encoded stream identity, e.g. stock_item.<b64url location>.<b64url sku> */
  streamId: string;
  stream: StreamRef;
  streamVersion: number;
  globalPosition: string;
  occurredAt: string;
  recordedAt: string;
  producer: string;
  correlationId: string;
  causationId: string;
  traceId: string | null;
  /** W3C traceparent of the command that wrote the event (null when its caller sent none and nothing traced it). */
  traceparent: string | null;
  channel: string | null;
  operator: string;
  policyVersion: number;
  payload: unknown;
};

export const streamIdOf = (s: StreamRef): string =>
  s.kind === 'stock_item'
    ? `stock_item.${encodePart(s.locationId)}.${encodePart(s.sku)}`
    : `reservation.${encodePart(s.reservationId)}`;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** An event as the ledger stores it: what every reader of the event store hands to fromStoredEvent. */
export type StoredEvent = {
  globalPosition: string;
  eventId: string;
  eventType: string;
  schemaVersion: number;
  tenantId: string;
  stream: { kind: string; locationId: string; sku: string; reservationId: string };
  streamVersion: number;
  data: unknown;
  metadata: Record<string, unknown>;
  occurredAt: Date;
  recordedAt: Date;
};

/** The one conversion from a stored event to the envelope on the wire. */
export const fromStoredEvent = (e: StoredEvent): Envelope => {
  const stream = { ...e.stream, kind: e.stream.kind as StreamRef['kind'] };
  const m = e.metadata;
  return {
    eventId: e.eventId,
    eventType: e.eventType,
    schemaVersion: e.schemaVersion,
    tenantId: e.tenantId,
    streamId: streamIdOf(stream),
    stream,
    streamVersion: e.streamVersion,
    globalPosition: e.globalPosition,
    occurredAt: e.occurredAt.toISOString(),
    recordedAt: e.recordedAt.toISOString(),
    producer: str(m.producer),
    correlationId: str(m.correlationId),
    causationId: str(m.causationId),
    traceId: typeof m.traceId === 'string' ? m.traceId : null,
    traceparent: typeof m.traceparent === 'string' ? m.traceparent : null,
    channel: typeof m.channel === 'string' ? m.channel : null,
    operator: str(m.operator),
    policyVersion: typeof m.policyVersion === 'number' ? m.policyVersion : 0,
    payload: e.data,
  };
};
