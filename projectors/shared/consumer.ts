// A durable pull consumer loop shared by every projector: ack only after the
// projector's store has the change; wait out infrastructure outages without
// counting them as failures; send a message that keeps failing (or cannot be
// parsed) to a dead-letter record instead of looping for ever.
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { ensureEventStream } from '../../platform/nats.js';
import { consumerName } from '../../contracts/names.js';
import { startSpan, validTraceparent } from '../../platform/telemetry/tracing.js';
import type { JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Envelope } from '../../contracts/envelope.js';
import type { Telemetry } from '../../platform/telemetry/telemetry.js';

export class PoisonMessage extends Error {
  override name = 'PoisonMessage';
}

export type ConsumerLoop = { stop(): Promise<void>; applied(): number };

export type ConsumerLoopOptions = {
  nc: NatsConnection;
  pool: pg.Pool;
  namespace: string;
  projector: string;
  filterSubject: string;
  log: Logger;
  /**
   * Applies one event; throw PoisonMessage for a message that can never apply. `traceparent` is
   * the apply span's (or the event's, when this process does not trace): the parent of its writes.
   */
  apply(envelope: Envelope, msg: JsMsg, traceparent: string | null): Promise<void>;
  /** True while a dependency is down: the message is retried later and not counted. */
  isOutage(err: unknown): boolean;
  maxDeliveries?: number;
  batch?: number;
  /** dead_letters_total{consumer}, projector_lag_seconds{projector} and an apply span per message. */
  telemetry?: Telemetry;
  /** How often the lag is checked against the consumer's backlog. */
  lagEveryMs?: number;
};

/**
 * projector_lag_seconds{projector}: how far behind the ledger the projector's store is. Set to the
 * age of each event as it is applied; while messages wait, it grows from the last applied event's
 * time (or the last moment nothing waited, if later); 0 once nothing waits.
 */
const lagGauge = (o: ConsumerLoopOptions, backlog: () => Promise<number>) => {
  const gauge = o.telemetry?.metrics.gauge('projector_lag_seconds', 'How far behind the ledger a projector is', [
    'projector',
  ]);
  const lag = gauge?.labels(o.projector);
  let since = Date.now();
  const timer = setInterval(() => {
    void backlog().then(
      (waiting) => {
        if (waiting === 0) since = Date.now();
        lag?.set(waiting === 0 ? 0 : (Date.now() - since) / 1000);
      },
      () => undefined,
    );
  }, o.lagEveryMs ?? 5_000);
  timer.unref();
  return {
    applied(recordedAt: string) {
      const at = Date.parse(recordedAt);
      if (Number.isNaN(at)) return;
      since = Math.max(since, at);
      lag?.set(Math.max(0, (Date.now() - at) / 1000));
    },
    stop: () => clearInterval(timer),
  };
};

const NANOS_PER_MS = 1_000_000;

export const startConsumerLoop = async (o: ConsumerLoopOptions): Promise<ConsumerLoop> => {
  const stream = await ensureEventStream(o.nc, o.namespace);
  const durable = consumerName(o.namespace, o.projector);
  const jsm = await jetstreamManager(o.nc);
  const config = {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: o.filterSubject,
    // How long a crashed projector's in-flight messages wait before redelivery.
    ack_wait: 10_000 * NANOS_PER_MS,
    max_ack_pending: 2_000,
  };
  await jsm.consumers.add(stream, config).catch(async () => jsm.consumers.update(stream, durable, config));
  const consumer = await jetstream(o.nc).consumers.get(stream, durable);
  const maxDeliveries = o.maxDeliveries ?? 5;
  const messages = await consumer.consume({ max_messages: o.batch ?? 256 });
  let applied = 0;
  const tracing = o.telemetry?.tracing ?? null;
  const deadLetters = o.telemetry?.metrics
    .counter('dead_letters_total', 'Messages a consumer gave up on (see the dead_letters table)', ['consumer'])
    .labels(o.projector);
  deadLetters?.inc(0);
  const lag = lagGauge(o, async () => {
    const info = await consumer.info(true);
    return info.num_pending + info.num_ack_pending;
  });
  // Failures of the message itself, per stream sequence. JetStream's delivery count also counts
  // redeliveries during an outage, which must not push a good message into the dead letters.
  const failures = new Map<number, number>();
  const countFailure = (msg: JsMsg): number => {
    const n = (failures.get(msg.info.streamSequence) ?? 0) + 1;
    if (failures.size > 10_000) failures.clear();
    failures.set(msg.info.streamSequence, n);
    return n;
  };

  // Postgres text cannot hold NUL characters: a payload with a NUL byte could never be dead-lettered.
  const pgText = (s: string): string => s.replaceAll('\u0000', '\uFFFD');
  const deadLetter = async (msg: JsMsg, error: string) => {
    await o.pool.query(
      `insert into dead_letters (consumer, subject, stream_sequence, deliveries, payload, error) values ($1, $2, $3, $4, $5, $6)`,
      [
        durable,
        msg.subject,
        msg.info.streamSequence,
        msg.info.deliveryCount,
        pgText(msg.string()),
        pgText(error.slice(0, 2000)),
      ],
    );
    // A plain +TERM: nats-server 2.9 does not understand "+TERM <reason>" and would redeliver the
    // message every ack_wait, for ever (the reason is in dead_letters and the log).
    msg.term();
    deadLetters?.inc();
    o.log.error(
      { consumer: durable, subject: msg.subject, seq: msg.info.streamSequence, error },
      'message dead-lettered',
    );
  };

  const loop = (async () => {
    for await (const msg of messages) {
      let envelope: Envelope;
      try {
        envelope = msg.json<Envelope>();
        // null, a number, a string or an array parse too; none of them is an envelope.
        if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope))
          throw new TypeError('not an object');
      } catch {
        await deadLetter(msg, 'not a JSON event envelope').catch((err: unknown) =>
          o.log.error({ err }, 'could not dead-letter'),
        );
        continue;
      }
      const parent = validTraceparent(msg.headers?.get('traceparent')) ?? validTraceparent(envelope.traceparent);
      const span =
        tracing === null
          ? null
          : startSpan(tracing, `${o.projector} apply ${String(envelope.eventType)}`, {
              parent,
              kind: 'consumer',
              attributes: { 'messaging.system': 'nats', 'messaging.destination.name': msg.subject },
            });
      try {
        await o.apply(envelope, msg, span?.traceparent ?? parent);
        span?.end();
        msg.ack();
        failures.delete(msg.info.streamSequence);
        applied++;
        lag.applied(envelope.recordedAt);
      } catch (err) {
        span?.end(err);
        const error = err instanceof Error ? err.message : String(err);
        if (o.isOutage(err)) {
          // Not the message's fault: retry it later, and do not spin while the dependency is down.
          msg.nak(1_000);
          o.log.warn({ consumer: durable, error }, 'dependency unavailable; will retry');
          await new Promise((r) => setTimeout(r, 500));
        } else if (err instanceof PoisonMessage || countFailure(msg) >= maxDeliveries) {
          await deadLetter(msg, error).catch((e: unknown) => {
            o.log.error({ err: e }, 'could not dead-letter; retrying later');
            msg.nak(1_000);
          });
        } else {
          msg.nak(200 * msg.info.deliveryCount);
          o.log.warn(
            {
              consumer: durable,
              error,
              deliveries: msg.info.deliveryCount,
              eventType: envelope.eventType,
              tenant: envelope.tenantId,
            },
            'apply failed; will retry',
          );
        }
      }
    }
  })();

  return {
    applied: () => applied,
    async stop() {
      lag.stop();
      await messages.close();
      await loop;
    },
  };
};
