// Helpers shared by the event-store specs: a stream's row and events, and one
// command through the real write path (lock, read the snapshot, append, commit).
import { randomUUID } from 'node:crypto';
import { appendToStreams, lockStreams, readStreams, streamKeyId } from '../../core/src/store/eventStore.js';
import { inTransaction } from '../../platform/postgres/tx.js';
import type pg from 'pg';
import type { EventMetadata, NewEvent, StoredStream, StreamKey } from '../../core/src/store/eventStore.js';

export const specMetadata = (spec: string): EventMetadata => ({
  channel: null,
  operator: spec,
  correlationId: spec,
  causationId: spec,
  traceId: null,
  producer: spec,
  policyVersion: 1,
});

export const newEvent = (data: unknown): NewEvent => ({
  eventId: randomUUID(),
  eventType: 'stockmind.stock.stock_received.v1',
  schemaVersion: 1,
  data,
  occurredAt: new Date(),
});

export const streamOf = (streams: Map<string, StoredStream>, key: StreamKey): StoredStream => {
  const s = streams.get(streamKeyId(key));
  if (s === undefined) throw new Error(`stream ${streamKeyId(key)} was not returned`);
  return s;
};

export type StreamRow = { version: number; state: unknown; updated_at: Date | null };
export type EventRow = { version: number; event_id: string; data: unknown };

/** `pool` is read on each call: specs create their database in beforeAll. */
export const storeHelpers = (pool: () => pg.Pool, tenantId: string, meta: EventMetadata) => ({
  async streamRow(key: StreamKey): Promise<StreamRow> {
    const s = streamOf(await readStreams(pool(), tenantId, [key]), key);
    return { version: s.version, state: s.state, updated_at: s.updatedAt };
  },
  async eventsOf(key: StreamKey): Promise<EventRow[]> {
    const s = streamOf(await readStreams(pool(), tenantId, [key]), key);
    const { rows } = await pool().query<EventRow>(
      'select version, event_id, data from events where stream_id = $1 order by version',
      [s.streamId],
    );
    return rows;
  },
  /** Creates the streams, empty (version 0). */
  createStreams: (keys: StreamKey[]) =>
    inTransaction(pool(), undefined, async (c) => ({
      commit: true,
      value: (await lockStreams(c, tenantId, keys)).streams,
    })),
  /** One command through the real write path: lock, read the snapshot, append one event, commit. */
  appendLocked: (key: StreamKey, data: Record<string, unknown>) =>
    inTransaction(pool(), undefined, async (c) => {
      const { streams, now } = await lockStreams(c, tenantId, [key]);
      const s = streamOf(streams, key);
      const version = s.version + 1;
      const state = { ...data, version };
      await appendToStreams(c, tenantId, [{ stream: s, events: [newEvent(data)], state }], meta, now);
      return { commit: true, value: { version, state } };
    }),
});
