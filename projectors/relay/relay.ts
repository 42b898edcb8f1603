// The relay: the only publisher of events. One active instance at a time (a
// lease in Postgres, fenced on every checkpoint write); it reads the log in
// commit order, publishes with Nats-Msg-Id = event id, and moves its
// checkpoint only after the broker acknowledged. A crash between publish and
// checkpoint republishes the batch; the duplicate window absorbs it.
import { jetstream } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { startSpan } from '../../platform/telemetry/tracing.js';
import { readInCommitOrder } from '../../core/src/store/commitOrder.js';
import { fromStoredEvent } from '../../contracts/envelope.js';
import { EVENTS_NOTIFY_CHANNEL, eventSubject } from '../../contracts/names.js';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Checkpoint } from '../../core/src/store/commitOrder.js';
import type { StoredEvent } from '../../contracts/envelope.js';
import type { Tracing } from '../../platform/telemetry/tracing.js';

export type RelayOptions = {
  pool: pg.Pool;
  nc: NatsConnection;
  namespace: string;
  holderId: string;
  log: Logger;
  /** One lease and checkpoint per name: a second relay with the same name stands by. */
  name?: string;
  batchSize?: number;
  pollMs?: number;
  leaseMs?: number;
  /** A publish span per event, child of the command that wrote it; null = none. */
  tracing?: Tracing | null;
};

export type Lag = { events: number; seconds: number };

export type Relay = { stop(): Promise<void>; isLeader(): boolean; lag(): Promise<Lag>; published(): number };

export const startRelay = async (o: RelayOptions): Promise<Relay> => {
  const name = o.name ?? o.namespace;
  const batchSize = o.batchSize ?? 500;
  const pollMs = o.pollMs ?? 100;
  const leaseMs = o.leaseMs ?? 5_000;
  const js = jetstream(o.nc, { timeout: 5_000 });
  const tracing = o.tracing ?? null;
  /** Publishes one event; its traceparent (the publish span's, or the command's) goes in the message headers. */
  const publish = async (e: StoredEvent) => {
    const envelope = fromStoredEvent(e);
    const subject = eventSubject(o.namespace, e.tenantId, e.eventType);
    const body = JSON.stringify(envelope);
    if (tracing === null && envelope.traceparent === null) return js.publish(subject, body, { msgID: e.eventId });
    const span =
      tracing === null
        ? null
        : startSpan(tracing, `publish ${e.eventType}`, {
            parent: envelope.traceparent,
            kind: 'producer',
            attributes: {
              'messaging.system': 'nats',
              'messaging.destination.name': subject,
              'messaging.message.id': e.eventId,
            },
          });
    const h = headers();
    h.set('traceparent', span?.traceparent ?? (envelope.traceparent as string));
    try {
      const ack = await js.publish(subject, body, { msgID: e.eventId, headers: h });
      span?.end();
      return ack;
    } catch (err) {
      span?.end(err);
      throw err;
    }
  };
  let stopped = false;
  let leader = false;
  let leaseRenewedAt = 0;
  let checkpoint: Checkpoint | null = null;
  let publishedCount = 0;
  let wake: (() => void) | null = null;

  // LISTEN on a dedicated connection wakes the loop at once; polling covers a lost notification
  // and the time that connection is down (the loop opens it again).
  let listener: pg.PoolClient | null = null;
  const released = new WeakSet<pg.PoolClient>();
  const releaseListener = (client: pg.PoolClient, err?: Error) => {
    if (listener === client) listener = null;
    if (released.has(client)) return;
    released.add(client);
    client.release(err);
  };
  const listen = async (): Promise<void> => {
    const client = await o.pool.connect();
    client.on('notification', () => wake?.());
    // A checked-out client has no pool error handler: without this one, Postgres going away
    // would be an unhandled 'error' event and end the whole process.
    client.on('error', (err: Error) => {
      o.log.warn({ err: err.message }, 'relay lost its LISTEN connection; polling until it is back');
      releaseListener(client, err);
    });
    try {
      await client.query(`listen ${EVENTS_NOTIFY_CHANNEL}`);
    } catch (err) {
      releaseListener(client, err as Error);
      throw err;
    }
    if (released.has(client)) return;
    listener = client;
  };
  await listen();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });

  const acquireLease = async (): Promise<boolean> => {
    const { rowCount } = await o.pool.query({
      name: 'sm_relay_lease',
      text: `insert into relay_leases (name, holder, expires_at) values ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
             on conflict (name) do update set holder = excluded.holder, expires_at = excluded.expires_at
             where relay_leases.holder = excluded.holder or relay_leases.expires_at < clock_timestamp()
             returning holder`,
      values: [name, o.holderId, leaseMs],
    });
    return rowCount === 1;
  };

  const loadCheckpoint = async (): Promise<Checkpoint> => {
    const { rows } = await o.pool.query<{ tx_id: string; position: string }>(
      'select tx_id::text as tx_id, position::text as position from relay_checkpoints where name = $1',
      [name],
    );
    const row = rows[0];
    return row === undefined ? { txId: '0', position: '0' } : { txId: row.tx_id, position: row.position };
  };

  /** Fenced: only the lease holder moves the checkpoint. */
  const saveCheckpoint = async (cp: Checkpoint): Promise<boolean> => {
    const { rowCount } = await o.pool.query({
      name: 'sm_relay_checkpoint',
      text: `insert into relay_checkpoints (name, tx_id, position, updated_at)
             select $1, $2::xid8, $3::bigint, clock_timestamp()
             where exists (select 1 from relay_leases where name = $1 and holder = $4 and expires_at > clock_timestamp())
             on conflict (name) do update set tx_id = excluded.tx_id, position = excluded.position, updated_at = excluded.updated_at
             returning 1`,
      values: [name, cp.txId, cp.position, o.holderId],
    });
    return rowCount === 1;
  };

  const step = async (): Promise<'idle' | 'busy' | 'standby'> => {
    if (listener === null) await listen();
    if (!leader || Date.now() - leaseRenewedAt > leaseMs / 3) {
      const got = await acquireLease();
      if (got && !leader) {
        checkpoint = await loadCheckpoint();
        o.log.info({ relay: name, holder: o.holderId, checkpoint }, 'relay is the active publisher');
      }
      if (!got && leader) o.log.warn({ relay: name }, 'relay lost its lease; standing by');
      leader = got;
      if (got) leaseRenewedAt = Date.now();
    }
    if (!leader || checkpoint === null) return 'standby';
    const { events, checkpoint: next } = await readInCommitOrder(o.pool, checkpoint, batchSize);
    if (events.length === 0) return 'idle';
    // Published in order on one connection, so JetStream stores them in commit order.
    await Promise.all(events.map(publish));
    if (!(await saveCheckpoint(next))) {
      leader = false;
      o.log.warn(
        { relay: name },
        'relay lost its lease before checkpointing; the next leader republishes (deduplicated)',
      );
      return 'standby';
    }
    checkpoint = next;
    publishedCount += events.length;
    return events.length === batchSize ? 'busy' : 'idle';
  };

  const loop = (async () => {
    let backoff = 0;
    while (!stopped) {
      try {
        const state = await step();
        backoff = 0;
        if (state === 'idle') await sleep(pollMs);
        else if (state === 'standby') await sleep(Math.min(leaseMs / 2, 1_000));
      } catch (err) {
        backoff = Math.min(backoff === 0 ? 100 : backoff * 2, 5_000);
        o.log.warn(
          { err: (err as Error).message, retryInMs: backoff },
          'relay step failed; retrying from the checkpoint',
        );
        checkpoint = leader ? await loadCheckpoint().catch(() => checkpoint) : checkpoint;
        await sleep(backoff);
      }
    }
  })();

  return {
    isLeader: () => leader,
    published: () => publishedCount,
    async lag() {
      const cp = checkpoint ?? (await loadCheckpoint());
      const { rows } = await o.pool.query<{ events: string; oldest: Date | null }>(
        `select count(*)::text as events, min(recorded_at) as oldest from events where (tx_id, global_position) > ($1::xid8, $2::bigint)`,
        [cp.txId, cp.position],
      );
      const oldest = rows[0]?.oldest ?? null;
      return {
        events: Number(rows[0]?.events ?? 0),
        seconds: oldest === null ? 0 : Math.max(0, (Date.now() - oldest.getTime()) / 1000),
      };
    },
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      if (leader) {
        await o.pool
          .query('update relay_leases set expires_at = clock_timestamp() where name = $1 and holder = $2', [
            name,
            o.holderId,
          ])
          .catch(() => undefined);
      }
      const l = listener;
      if (l !== null) {
        await l.query(`unlisten ${EVENTS_NOTIFY_CHANNEL}`).catch(() => undefined);
        releaseListener(l);
      }
    },
  };
};
