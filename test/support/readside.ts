// Helpers for read-side integration specs: a namespace per spec (JetStream stream, subjects,
// consumers and Redis keys), the shared NATS and Redis, what JetStream holds, and envelopes to
// publish by hand. Private servers are in ./servers.ts, CLI processes in ./cli.ts.
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '../../platform/nats.js';
import { createRedis } from '../../platform/redis.js';
import { eventStreamName } from '../../contracts/names.js';
import { streamIdOf } from '../../contracts/envelope.js';
import type { Redis } from 'ioredis';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Envelope } from '../../contracts/envelope.js';

export const SHARED_NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
export const SHARED_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export const silentLog = pino({ level: 'silent' });

export { cleanupNamespace, testNamespace } from '../../loadtest/bench/stack.js';

export const sharedNats = (name: string): Promise<NatsConnection> => connectNats(SHARED_NATS_URL, name);
export const sharedRedis = (name: string, commandTimeoutMs = 2_000): Redis =>
  createRedis(SHARED_REDIS_URL, { commandTimeoutMs, name });

export type StoredEvent = { seq: number; subject: string; msgId: string | undefined; envelope: Envelope };

/** How many messages the namespace's stream holds (0 when it does not exist yet). */
export const streamMessageCount = async (nc: NatsConnection, namespace: string): Promise<number> => {
  const jsm = await jetstreamManager(nc);
  try {
    return (await jsm.streams.info(eventStreamName(namespace))).state.messages;
  } catch {
    return 0;
  }
};

/** Every message of the namespace's stream, in stream order. */
export const readStream = async (nc: NatsConnection, namespace: string): Promise<StoredEvent[]> => {
  const jsm = await jetstreamManager(nc);
  const name = eventStreamName(namespace);
  const { state } = await jsm.streams.info(name);
  const out: StoredEvent[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(name, { seq });
    if (m === null) continue;
    out.push({
      seq: m.seq,
      subject: m.subject,
      msgId: m.header.get('Nats-Msg-Id') || undefined,
      envelope: m.json<Envelope>(),
    });
  }
  return out;
};

/** Pending plus unacknowledged messages of a durable consumer (0 = caught up). */
export const consumerBacklog = async (nc: NatsConnection, namespace: string, durable: string): Promise<number> => {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.consumers.info(eventStreamName(namespace), durable);
  return info.num_pending + info.num_ack_pending;
};

/** A stock-item event envelope shaped as the relay publishes it, for specs that publish by hand. */
export const stockEnvelope = (o: {
  tenantId: string;
  locationId: string;
  sku: string;
  version: number;
  payload: unknown;
  producer: string;
}): Envelope => {
  const stream = { kind: 'stock_item' as const, locationId: o.locationId, sku: o.sku, reservationId: '' };
  const at = new Date().toISOString();
  return {
    eventId: randomUUID(),
    eventType: 'stockmind.stock.stock_received.v1',
    schemaVersion: 1,
    tenantId: o.tenantId,
    streamId: streamIdOf(stream),
    stream,
    streamVersion: o.version,
    globalPosition: String(o.version),
    occurredAt: at,
    recordedAt: at,
    producer: o.producer,
    correlationId: randomUUID(),
    causationId: '',
    traceId: null,
    traceparent: null,
    channel: null,
    operator: 'spec',
    policyVersion: 0,
    payload: o.payload,
  };
};
