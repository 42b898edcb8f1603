// Versioned appends: several streams at once, each at its expected version, with the command's
// other writes (snapshot, expiry row, idempotency answer, NOTIFY) in the same statement.
import type pg from 'pg';
import type { IdempotencyScope } from './idempotency.js';
import type { StoredStream } from './streams.js';

export type NewEvent = {
  eventId: string;
  /** Wire name, e.g. stockmind.stock.stock_reserved.v1 */
  eventType: string;
  schemaVersion: number;
  data: unknown;
  occurredAt: Date;
};

export type StreamAppend = { stream: StoredStream; events: NewEvent[]; state: unknown };

export type EventMetadata = {
  channel: string | null;
  operator: string;
  correlationId: string;
  causationId: string;
  traceId: string | null;
  /** W3C traceparent of the command that wrote the event: the relay and projectors continue its trace. */
  traceparent?: string | null;
  producer: string;
  policyVersion: number;
};

/**
 * Writes that belong to the same command, sent in the append's one statement
 * (each round trip saved is a write syscall on both sides of a 2-core box).
 */
export type AppendOptions = {
  /** Wakes LISTENers (the relay) at commit; null to rely on their polling alone. */
  notifyChannel?: string | null;
  /** Schedules the reservation's expiry. */
  expiry?: { reservationId: string; expiresAt: Date };
  /** The answer to replay for the command's idempotency key (claimed earlier in the transaction). */
  idempotency?: { scope: IdempotencyScope; key: string; response: unknown };
};

export class ConcurrencyError extends Error {
  override name = 'ConcurrencyError';
}

/**
 * Appends events to several streams atomically, each at its expected version
 * (compare-and-set on streams.version; the (stream_id, version) primary key is
 * the second guard), and updates each inline snapshot.
 */
export const appendToStreams = async (
  client: pg.ClientBase,
  tenantId: string,
  appends: StreamAppend[],
  metadata: EventMetadata,
  recordedAt: Date,
  options: AppendOptions = {},
): Promise<void> => {
  if (client.getTransactionStatus() !== 'I')
    return appendInTransaction(client, tenantId, appends, metadata, recordedAt, options);
  // Outside a transaction block the append statement would commit on its own, before the version
  // check below: a ConcurrencyError would leave events behind on the streams that did not move.
  await client.query('begin');
  try {
    await appendInTransaction(client, tenantId, appends, metadata, recordedAt, options);
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  }
};

const appendInTransaction = async (
  client: pg.ClientBase,
  tenantId: string,
  appends: StreamAppend[],
  metadata: EventMetadata,
  recordedAt: Date,
  options: AppendOptions,
): Promise<void> => {
  const writes = appends.filter((a) => a.events.length > 0);
  if (writes.length === 0) return;
  const ev = {
    streamIds: [] as string[],
    versions: [] as number[],
    ids: [] as string[],
    types: [] as string[],
    schemas: [] as number[],
    data: [] as string[],
    occurred: [] as Date[],
  };
  const st = { streamIds: [] as string[], expected: [] as number[], next: [] as number[], states: [] as string[] };
  for (const a of writes) {
    a.events.forEach((e, i) => {
      ev.streamIds.push(a.stream.streamId);
      ev.versions.push(a.stream.version + i + 1);
      ev.ids.push(e.eventId);
      ev.types.push(e.eventType);
      ev.schemas.push(e.schemaVersion);
      ev.data.push(JSON.stringify(e.data));
      ev.occurred.push(e.occurredAt);
    });
    st.streamIds.push(a.stream.streamId);
    st.expected.push(a.stream.version);
    st.next.push(a.stream.version + a.events.length);
    st.states.push(JSON.stringify(a.state));
  }
  const { rows } = await client.query<{ updated: string }>({
    name: 'sm_append',
    text: `with appended as (
             insert into events (stream_id, version, tenant_id, event_id, event_type, schema_version, data, metadata, occurred_at, recorded_at)
             select u.stream_id, u.version, $1, u.event_id, u.event_type, u.schema_version, u.data, $8, u.occurred_at, $9
             from unnest($2::bigint[], $3::int[], $4::uuid[], $5::text[], $6::int[], $7::jsonb[], $10::timestamptz[])
                  as u(stream_id, version, event_id, event_type, schema_version, data, occurred_at)
             returning 1
           ), moved as (
             update streams s
             set version = u.next, state = u.state, updated_at = $9, created_at = coalesce(s.created_at, $9)
             from unnest($11::bigint[], $12::int[], $13::int[], $14::jsonb[]) as u(stream_id, expected, next, state)
             where s.stream_id = u.stream_id and s.version = u.expected
             returning 1
           ), due as (
             insert into reservation_expiry (tenant_id, reservation_id, expires_at)
             select $1, $16, $17 where $16::text is not null
           ), answered as (
             update idempotency_keys set response = $20 where tenant_id = $1 and scope = $18 and key = $19
           )
           select (select count(*) from moved) as updated, (select count(*) from appended) as inserted,
                  case when $15::text is not null then pg_notify($15, '') end as notified`,
    values: [
      tenantId,
      ev.streamIds,
      ev.versions,
      ev.ids,
      ev.types,
      ev.schemas,
      ev.data,
      JSON.stringify(metadata),
      recordedAt,
      ev.occurred,
      st.streamIds,
      st.expected,
      st.next,
      st.states,
      options.notifyChannel ?? null,
      options.expiry?.reservationId ?? null,
      options.expiry?.expiresAt ?? null,
      options.idempotency?.scope ?? null,
      options.idempotency?.key ?? null,
      options.idempotency === undefined ? null : JSON.stringify(options.idempotency.response),
    ],
  });
  if (Number(rows[0]?.updated) !== writes.length) {
    throw new ConcurrencyError(
      `a stream moved past its expected version (${rows[0]?.updated}/${writes.length} updated)`,
    );
  }
};
