// NATS connection and the JetStream stream every event goes to.
import { connect } from '@nats-io/transport-node';
import { DiscardPolicy, RetentionPolicy, StorageType, jetstreamManager } from '@nats-io/jetstream';
import { allEventsSubject, eventStreamName } from '../contracts/names.js';
import type { NatsConnection } from '@nats-io/transport-node';

const NANOS_PER_MS = 1_000_000;

/** Reconnects for ever: a broker outage pauses the read side, it never ends a process. */
export const connectNats = (url: string, name: string): Promise<NatsConnection> =>
  connect({ servers: url, name, maxReconnectAttempts: -1, reconnectTimeWait: 500, timeout: 3_000 });

/** Creates or updates STOCKMIND_EVENTS: file storage, a duplicate window of 15 minutes. */
export const ensureEventStream = async (nc: NatsConnection, namespace: string): Promise<string> => {
  const jsm = await jetstreamManager(nc);
  const name = eventStreamName(namespace);
  const config = {
    name,
    subjects: [allEventsSubject(namespace)],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    duplicate_window: 15 * 60 * 1000 * NANOS_PER_MS,
    max_age: 7 * 24 * 3600 * 1000 * NANOS_PER_MS,
  };
  try {
    await jsm.streams.info(name);
    await jsm.streams.update(name, config);
  } catch (err) {
    if (!/stream not found/i.test(String((err as Error).message))) throw err;
    await jsm.streams.add(config).catch(async (addErr: unknown) => {
      // another process created it first
      if (!/already in use|exists/i.test(String((addErr as Error).message))) throw addErr;
      await jsm.streams.update(name, config);
    });
  }
  return name;
};
