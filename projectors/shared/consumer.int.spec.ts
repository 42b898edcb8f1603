// The shared consumer loop on real JetStream and Postgres, with an `apply` the
// spec controls: a message that is not a JSON envelope (garbage, bytes with NUL,
// JSON that is not an object) or is poison goes to dead_letters at once and is
// terminated, never redelivered; ordinary failures are retried
// and dead-lettered only after maxDeliveries of them; redeliveries during an
// outage are not counted; good messages behind a bad one still apply.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { PoisonMessage, startConsumerLoop } from './consumer.js';
import { ensureEventStream } from '../../platform/nats.js';
import { consumerName } from '../../contracts/names.js';
import { createTestDatabase } from '../../test/support/db.js';
import { eventually } from '../../test/support/wait.js';
import {
  cleanupNamespace,
  consumerBacklog,
  sharedNats,
  silentLog,
  stockEnvelope,
  testNamespace,
} from '../../test/support/readside.js';
import type { JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { TestDatabase } from '../../test/support/db.js';
import type { ConsumerLoop } from './consumer.js';
import type { Envelope } from '../../contracts/envelope.js';

const T = 'consumer-tenant';
const ns = testNamespace('consumer');

let db: TestDatabase;
let nc: NatsConnection;
const loops: ConsumerLoop[] = [];

beforeAll(async () => {
  db = await createTestDatabase('consumer', 4);
  nc = await sharedNats('consumer-spec');
  await ensureEventStream(nc, ns);
});

afterEach(async () => {
  for (const l of loops.splice(0)) await l.stop();
});

afterAll(async () => {
  for (const l of loops.splice(0)) await l.stop();
  await cleanupNamespace(ns, { nc });
  await nc?.close();
  await db?.drop();
});

/** A well-formed envelope; `tag` travels in the payload so `apply` can tell messages apart. */
const envelope = (tag: string, version = 1): Envelope =>
  stockEnvelope({ tenantId: T, locationId: 'W1', sku: tag, version, payload: { tag }, producer: 'consumer-spec' });

type DeadLetter = {
  consumer: string;
  subject: string;
  stream_sequence: string;
  deliveries: number;
  payload: string;
  error: string;
};

const deadLetters = async (consumer: string): Promise<DeadLetter[]> =>
  (
    await db.pool.query<DeadLetter>(
      'select consumer, subject, stream_sequence, deliveries, payload, error from dead_letters where consumer = $1 order by id',
      [consumer],
    )
  ).rows;

type Calls = { seq: number; tag: string; delivery: number }[];

/**
 * A consumer loop on its own subject (`<ns>.evt.<tenant>.<label>.>`) and durable, with `apply`
 * deciding per call (`calls` records every call, in order, before deciding).
 */
const startCase = async (
  label: string,
  o: {
    maxDeliveries: number;
    apply: (tag: string, callsForSeq: number) => void | Promise<void>;
    isOutage?: (err: unknown) => boolean;
  },
) => {
  const subject = `${ns}.evt.${T}.${label}`;
  const calls: Calls = [];
  const loop = await startConsumerLoop({
    nc,
    pool: db.pool,
    namespace: ns,
    projector: `spec-${label}`,
    filterSubject: `${subject}.>`,
    log: silentLog,
    maxDeliveries: o.maxDeliveries,
    isOutage: o.isOutage ?? (() => false),
    async apply(e: Envelope, msg: JsMsg) {
      const seq = msg.info.streamSequence;
      const tag = (e.payload as { tag: string }).tag;
      calls.push({ seq, tag, delivery: msg.info.deliveryCount });
      await o.apply(tag, calls.filter((c) => c.seq === seq).length);
    },
  });
  loops.push(loop);
  const js = jetstream(nc);
  const durable = consumerName(ns, `spec-${label}`);
  const publishEnvelope = async (tag: string): Promise<number> =>
    (await js.publish(`${subject}.x`, JSON.stringify(envelope(tag)))).seq;
  /** Nothing pending and nothing awaiting an ack: every message was acked or terminated. */
  const settled = async () => expect(await consumerBacklog(nc, ns, durable)).toBe(0);
  return {
    loop,
    calls,
    durable,
    subject: `${subject}.x`,
    /** Publishes to the stream; resolves with the stream sequence. */
    publish: async (data: Uint8Array | string): Promise<number> => (await js.publish(`${subject}.x`, data)).seq,
    publishEnvelope,
    callsFor: (seq: number) => calls.filter((c) => c.seq === seq),
    settled,
    /**
     * Publishes a good message ('marker') and waits until it is applied and acked: the loop takes
     * messages in order, so anything that was going to come back before it has.
     */
    afterMarker: async () => {
      const seq = await publishEnvelope('marker');
      await eventually(async () => expect(calls.filter((c) => c.seq === seq)).toHaveLength(1), 5_000);
      await eventually(settled, 5_000);
    },
  };
};

describe('consumer loop: messages that are not JSON event envelopes', () => {
  it('dead-letters raw bytes at once (consumer, subject, sequence, payload, error), never redelivers them, and applies the next good message', async () => {
    const c = await startCase('garbage', { maxDeliveries: 3, apply: () => undefined });
    const badSeq = await c.publish('not json {');
    const goodSeq = await c.publishEnvelope('after-garbage');

    await eventually(async () => expect(c.loop.applied()).toBe(1), 5_000);
    expect(c.calls).toEqual([{ seq: goodSeq, tag: 'after-garbage', delivery: 1 }]);
    await eventually(async () => expect(await deadLetters(c.durable)).toHaveLength(1), 5_000);
    expect(await deadLetters(c.durable)).toEqual([
      {
        consumer: c.durable,
        subject: c.subject,
        stream_sequence: String(badSeq),
        deliveries: 1,
        payload: 'not json {',
        error: 'not a JSON event envelope',
      },
    ]);
    // Terminated, not left to time out: nothing waits for an ack, and it does not come back.
    await eventually(c.settled, 5_000);
    await c.afterMarker();
    expect(await deadLetters(c.durable)).toHaveLength(1);
    expect(c.loop.applied()).toBe(2); // the good message and the marker
  });

  it('dead-letters binary garbage (NUL and invalid UTF-8 bytes) too, instead of stalling on it', async () => {
    const c = await startCase('binary', { maxDeliveries: 3, apply: () => undefined });
    const badSeq = await c.publish(new Uint8Array([0x00, 0xff, 0xfe, 0x7b, 0x00, 0x80, 0x41]));
    const goodSeq = await c.publishEnvelope('after-binary');

    await eventually(async () => expect(c.loop.applied()).toBe(1), 5_000);
    expect(c.calls).toEqual([{ seq: goodSeq, tag: 'after-binary', delivery: 1 }]);
    await eventually(async () => expect(await deadLetters(c.durable)).toHaveLength(1), 5_000);
    const [row] = await deadLetters(c.durable);
    expect(row).toMatchObject({
      consumer: c.durable,
      subject: c.subject,
      stream_sequence: String(badSeq),
      deliveries: 1,
      error: 'not a JSON event envelope',
    });
    // Postgres text holds no NUL: it is stored, like each invalid byte, as U+FFFD; the readable bytes survive.
    expect(row?.payload).toBe('\uFFFD\uFFFD\uFFFD{\uFFFD\uFFFDA');
    await eventually(c.settled, 5_000);
  });

  it('dead-letters JSON that is not an object envelope (null, a number, an array, a string) at once, without stopping the loop', async () => {
    const c = await startCase('notobject', { maxDeliveries: 3, apply: () => undefined });
    const bad = [await c.publish('null'), await c.publish('42'), await c.publish('[1,2]'), await c.publish('"text"')];
    const goodSeq = await c.publishEnvelope('after-non-objects');

    await eventually(async () => expect(c.loop.applied()).toBe(1), 5_000);
    await eventually(async () => expect(await deadLetters(c.durable)).toHaveLength(bad.length), 5_000);
    expect(
      (await deadLetters(c.durable)).map((r) => [Number(r.stream_sequence), r.payload, r.deliveries, r.error]),
    ).toEqual([
      [bad[0], 'null', 1, 'not a JSON event envelope'],
      [bad[1], '42', 1, 'not a JSON event envelope'],
      [bad[2], '[1,2]', 1, 'not a JSON event envelope'],
      [bad[3], '"text"', 1, 'not a JSON event envelope'],
    ]);
    // `apply` only ever saw the envelope.
    expect(c.calls).toEqual([{ seq: goodSeq, tag: 'after-non-objects', delivery: 1 }]);
    await eventually(c.settled, 5_000);
  });
});

describe('consumer loop: failures of apply', () => {
  it('dead-letters a PoisonMessage at once, after a single delivery', async () => {
    const c = await startCase('poison', {
      maxDeliveries: 5,
      apply: (tag) => {
        if (tag === 'poison') throw new PoisonMessage('can never apply: poison');
      },
    });
    const poisonSeq = await c.publishEnvelope('poison');
    const goodSeq = await c.publishEnvelope('good');

    await eventually(async () => expect(await deadLetters(c.durable)).toHaveLength(1), 5_000);
    const [row] = await deadLetters(c.durable);
    expect(row).toMatchObject({
      consumer: c.durable,
      subject: c.subject,
      stream_sequence: String(poisonSeq),
      deliveries: 1,
      error: 'can never apply: poison',
    });
    expect(JSON.parse(row?.payload ?? '')).toMatchObject({ payload: { tag: 'poison' } });
    await eventually(async () => expect(c.loop.applied()).toBe(1), 5_000);
    await eventually(c.settled, 5_000);
    await c.afterMarker();
    expect(c.callsFor(poisonSeq)).toHaveLength(1);
    expect(c.callsFor(goodSeq)).toHaveLength(1);
    expect(await deadLetters(c.durable)).toHaveLength(1);
  });

  it('retries an ordinary failure and applies the message once when it succeeds before maxDeliveries', async () => {
    const maxDeliveries = 3;
    const c = await startCase('transient', {
      maxDeliveries,
      // fails maxDeliveries - 1 times (the most that must still not dead-letter), then succeeds
      apply: (tag, n) => {
        if (tag === 'flaky' && n < maxDeliveries) throw new Error(`transient failure ${n}`);
      },
    });
    const seq = await c.publishEnvelope('flaky');

    await eventually(async () => expect(c.loop.applied()).toBe(1), 10_000);
    expect(c.callsFor(seq).map((x) => x.delivery)).toEqual([1, 2, 3]);
    await eventually(c.settled, 5_000);
    await c.afterMarker();
    expect(c.callsFor(seq)).toHaveLength(3);
    expect(c.loop.applied()).toBe(2); // the flaky message and the marker
    expect(await deadLetters(c.durable)).toEqual([]);
  });

  it('does not count redeliveries during an outage: a message failing for longer than maxDeliveries while a dependency is down still applies', async () => {
    const maxDeliveries = 2;
    const outageDeliveries = 4;
    let down = true;
    const c = await startCase('outage', {
      maxDeliveries,
      apply: (_tag, n) => {
        if (n > outageDeliveries) down = false;
        if (down) throw new Error('ECONNREFUSED: dependency down');
      },
      isOutage: () => down,
    });
    const seq = await c.publishEnvelope('during-outage');

    await eventually(async () => expect(c.loop.applied()).toBe(1), 15_000, 100);
    expect(c.callsFor(seq).map((x) => x.delivery)).toEqual([1, 2, 3, 4, 5]);
    expect(await deadLetters(c.durable)).toEqual([]);
    await eventually(c.settled, 5_000);
  });

  it('counts only ordinary failures: ordinary failures around an outage still below maxDeliveries do not dead-letter', async () => {
    const maxDeliveries = 3;
    // delivery 1: ordinary failure; 2-3: outage; 4: ordinary failure; 5: success (2 counted failures < 3)
    let down = false;
    const c = await startCase('mixed', {
      maxDeliveries,
      apply: (_tag, n) => {
        down = n === 2 || n === 3;
        if (n < 5) throw new Error(down ? 'dependency down' : `ordinary failure ${n}`);
      },
      isOutage: () => down,
    });
    const seq = await c.publishEnvelope('mixed');

    await eventually(async () => expect(c.loop.applied()).toBe(1), 15_000, 100);
    expect(c.callsFor(seq).map((x) => x.delivery)).toEqual([1, 2, 3, 4, 5]);
    expect(await deadLetters(c.durable)).toEqual([]);
  });

  it('dead-letters a message that always fails after exactly maxDeliveries failures, and applies the messages around it', async () => {
    const maxDeliveries = 3;
    const c = await startCase('always', {
      maxDeliveries,
      apply: (tag, n) => {
        if (tag === 'bad') throw new Error(`still broken (${n})`);
      },
    });
    const before = await c.publishEnvelope('before');
    const badSeq = await c.publishEnvelope('bad');
    const after = await c.publishEnvelope('after');

    await eventually(async () => expect(await deadLetters(c.durable)).toHaveLength(1), 10_000);
    const [row] = await deadLetters(c.durable);
    expect(row).toMatchObject({
      consumer: c.durable,
      subject: c.subject,
      stream_sequence: String(badSeq),
      deliveries: maxDeliveries,
      error: `still broken (${maxDeliveries})`,
    });
    expect(c.callsFor(badSeq).map((x) => x.delivery)).toEqual([1, 2, 3]);
    expect(c.loop.applied()).toBe(2);
    expect(c.callsFor(before)).toHaveLength(1);
    expect(c.callsFor(after)).toHaveLength(1);
    await eventually(c.settled, 5_000);
    await c.afterMarker();
    expect(c.callsFor(badSeq)).toHaveLength(maxDeliveries);
    expect(await deadLetters(c.durable)).toHaveLength(1);
  });
});
