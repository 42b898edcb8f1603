// Reading the log in commit order. A global_position is taken at insert but
// becomes visible at commit, so "position > checkpoint" would skip events of a
// transaction that started first and committed last. Reading only transactions
// older than the oldest one still running (xmin) makes the order safe: no
// event can later appear below the checkpoint.
import type pg from 'pg';
import type { StoredEvent } from '../../../contracts/envelope.js';

export type Checkpoint = { txId: string; position: string };

export const START: Checkpoint = { txId: '0', position: '0' };

/** A stored event with the transaction that wrote it (commit order is (txId, globalPosition)). */
export type CommittedEvent = StoredEvent & { txId: string; streamId: string };

type Row = {
  tx_id: string;
  global_position: string;
  event_id: string;
  event_type: string;
  schema_version: number;
  tenant_id: string;
  stream_id: string;
  kind: string;
  location_id: string;
  sku: string;
  reservation_id: string;
  version: number;
  data: unknown;
  metadata: Record<string, unknown>;
  occurred_at: Date;
  recorded_at: Date;
};

export const readInCommitOrder = async (
  db: pg.Pool | pg.ClientBase,
  after: Checkpoint,
  limit: number,
): Promise<{ events: CommittedEvent[]; checkpoint: Checkpoint }> => {
  const { rows } = await db.query<Row>({
    name: 'sm_read_commit_order',
    text: `select e.tx_id::text as tx_id, e.global_position::text as global_position, e.event_id, e.event_type,
                  e.schema_version, e.tenant_id, e.stream_id::text as stream_id, s.kind, s.location_id, s.sku,
                  s.reservation_id, e.version, e.data, e.metadata, e.occurred_at, e.recorded_at
           from events e join streams s using (stream_id)
           where (e.tx_id, e.global_position) > ($1::xid8, $2::bigint)
             and e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
           order by e.tx_id, e.global_position
           limit $3`,
    values: [after.txId, after.position, limit],
  });
  const events = rows.map((r) => ({
    txId: r.tx_id,
    globalPosition: r.global_position,
    eventId: r.event_id,
    eventType: r.event_type,
    schemaVersion: r.schema_version,
    tenantId: r.tenant_id,
    streamId: r.stream_id,
    stream: { kind: r.kind, locationId: r.location_id, sku: r.sku, reservationId: r.reservation_id },
    streamVersion: r.version,
    data: r.data,
    metadata: r.metadata,
    occurredAt: r.occurred_at,
    recordedAt: r.recorded_at,
  }));
  const last = events.at(-1);
  return { events, checkpoint: last === undefined ? after : { txId: last.txId, position: last.globalPosition } };
};
