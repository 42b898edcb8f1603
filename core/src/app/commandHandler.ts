// The one command handler: claim the idempotency key → lock the streams in sorted order (creating
// missing ones) → load their states → decide (pure) → append at the expected versions → commit.
// One transaction per command. A refusal rolls back, so its id may be retried, and is recorded as
// lost demand only after the transaction, so a storm of refusals holds no lock.
import { appendToStreams, lockStreams, streamKeyId } from '../store/eventStore.js';
import { claimKey } from '../store/idempotency.js';
import { inTransaction } from '../../../platform/postgres/tx.js';
import { startSpan } from '../../../platform/telemetry/tracing.js';
import { AppError } from '../../../platform/errors.js';
import { decisionAppends, stateOf } from './appends.js';
import { ok } from './outcome.js';
import type pg from 'pg';
import type { TxOutcome } from '../../../platform/postgres/tx.js';
import type { Tracing } from '../../../platform/telemetry/tracing.js';
import type { VersionedPolicy } from '../../../contracts/policy.js';
import type { EventMetadata, StoredStream, StreamKey } from '../store/eventStore.js';
import type { IdempotencyScope } from '../store/idempotency.js';
import type { PolicySource } from '../store/policies.js';
import type { DecidedAppend, DomainEvent } from './appends.js';
import type { Caller } from './caller.js';
import type { Command, CommandHandler, CommandSpec, StreamAfter } from './commandSpec.js';
import type { Outcome, Refusal } from './outcome.js';
import type { RefusalLog } from './refusals.js';

export type CommandHandlerDeps = {
  pool: pg.Pool;
  policies: PolicySource;
  refusals: RefusalLog;
  producer: string;
  /** NOTIFY this channel at commit so the relay wakes at once; null = the relay polls. */
  notifyChannel: string | null;
  /** Spans for each command and its transaction; null = no tracing. */
  tracing?: Tracing | null;
  /** Called once per transaction with the commands it decided (one, until group commit) and its duration. */
  onBatch?: (size: number, ms: number) => void;
};

export const createCommandHandler = (deps: CommandHandlerDeps): CommandHandler => {
  const run = async <A, R extends Refusal>(
    c: pg.ClientBase,
    caller: Caller,
    command: Command<A, R>,
    { version, policy }: VersionedPolicy,
  ): Promise<TxOutcome<Ran<A, R>>> => {
    const spec = typeof command === 'function' ? await command(c) : command;
    const done = (commit: boolean, outcome: Outcome<A, R>) => ({ commit, value: { spec, outcome } });
    const { tenantId } = caller;
    const idem = spec.idempotency;
    if (idem !== null) {
      const claim = await claimKey(c, tenantId, idem.scope, spec.id, idem.requestHash);
      if (claim.kind === 'replay') return done(false, ok(claim.response as A));
      if (claim.kind === 'conflict') throw reusedId(idem.scope, spec.id);
    }
    const { streams, now } = await lockStreams(c, tenantId, spec.streams);
    const before = spec.streams.map((key) => lockedStream(streams, key));
    const decision = spec.decide(before.map(stateOf), now, policy);
    if (decision.kind === 'refused') return done(false, { ok: false, refusal: decision.refusal });
    const asked = spec.occurredAt ?? now;
    const ids = { tenantId, command: spec.command, id: spec.id };
    const appends = decisionAppends(ids, before, decision.events, asked < now ? asked : now);
    const answer = spec.answer(applied(before, appends, decision.events, now), now, policy);
    if (idem === null && appends.every((a) => a.events.length === 0)) return done(false, ok(answer));
    await spec.alsoWrite?.(c, now);
    const writes = before.map((stream, i) => ({ stream, ...(appends[i] as DecidedAppend) }));
    await appendToStreams(c, tenantId, writes, commandMetadata(deps.producer, caller, spec, version), now, {
      notifyChannel: deps.notifyChannel,
      ...(decision.expiry === undefined ? {} : { expiry: decision.expiry }),
      ...(idem === null ? {} : { idempotency: { scope: idem.scope, key: spec.id, response: answer } }),
    });
    return done(true, ok(answer));
  };

  const tracing = deps.tracing ?? null;
  /** One transaction (a batch of one command), timed, and a span when tracing. */
  const transaction = async <T>(caller: Caller, work: (c: pg.PoolClient) => Promise<TxOutcome<T>>): Promise<T> => {
    const started = performance.now();
    const span =
      tracing === null
        ? null
        : startSpan(tracing, 'postgres transaction', {
            parent: caller.traceparent,
            kind: 'client',
            attributes: { 'db.system.name': 'postgresql', 'stockmind.batch_size': 1 },
          });
    try {
      const value = await inTransaction(deps.pool, caller.signal, work);
      span?.end();
      return value;
    } catch (err) {
      span?.end(err);
      throw err;
    } finally {
      deps.onBatch?.(1, performance.now() - started);
    }
  };

  return {
    async handle(caller, command) {
      const policy = await deps.policies.get(caller.tenantId);
      const name = typeof command === 'function' ? 'transition' : command.command;
      const span = tracing === null ? null : startSpan(tracing, `command ${name}`, { parent: caller.traceparent });
      // The command's events carry its span, so the relay and projectors continue this trace.
      const acting = span === null ? caller : { ...caller, traceparent: span.traceparent };
      try {
        const { spec, outcome } = await transaction(acting, (c) => run(c, acting, command, policy));
        if (!outcome.ok) recordLostDemand(deps.refusals, caller, spec, outcome.refusal);
        span?.set({
          'stockmind.command': spec.command,
          'stockmind.outcome': outcome.ok ? 'ok' : outcome.refusal.reason,
        });
        span?.end();
        return outcome;
      } catch (err) {
        span?.end(err);
        throw err;
      }
    },
    async handleIn(client, caller, command) {
      return (await run(client, caller, command, await deps.policies.get(caller.tenantId))).value.outcome;
    },
  };
};

type Ran<A, R extends Refusal> = { spec: CommandSpec<A, R>; outcome: Outcome<A, R> };

const lockedStream = (streams: Map<string, StoredStream>, key: StreamKey): StoredStream => {
  const s = streams.get(streamKeyId(key));
  if (s === undefined) throw new Error(`stream ${streamKeyId(key)} was not locked`);
  return s;
};

const applied = (before: StoredStream[], appends: DecidedAppend[], events: DomainEvent[][], now: Date): StreamAfter[] =>
  before.map((s, i) => {
    const a = appends[i] as DecidedAppend;
    return {
      key: s.key,
      state: a.state,
      events: events[i] ?? [],
      version: s.version + a.events.length,
      createdAt: s.createdAt ?? now,
      updatedAt: a.events.length > 0 ? now : (s.updatedAt ?? now),
    };
  });

/** What every event of a command carries besides its payload: who, through which channel, why, under which policy. */
const commandMetadata = (
  producer: string,
  caller: Caller,
  spec: CommandSpec<unknown, Refusal>,
  policyVersion: number,
): EventMetadata => ({
  channel: spec.channel,
  operator: caller.operator,
  correlationId: caller.correlationId,
  causationId: spec.id,
  traceId: caller.traceId,
  ...(caller.traceparent == null ? {} : { traceparent: caller.traceparent }),
  producer,
  policyVersion,
});

const recordLostDemand = (
  refusals: RefusalLog,
  caller: Caller,
  spec: CommandSpec<unknown, Refusal>,
  refusal: Refusal,
) => {
  if (!spec.lostDemand || refusal.reason !== 'INSUFFICIENT_STOCK') return;
  refusals.record({
    tenantId: caller.tenantId,
    channel: spec.channel,
    command: spec.command,
    reservationId: spec.id,
    sku: refusal.sku,
    locationId: refusal.locationId,
    requested: refusal.requested,
    available: refusal.available,
    at: new Date(),
  });
};

const reusedId = (scope: IdempotencyScope, id: string): AppError =>
  new AppError('ALREADY_EXISTS', `${scope}_id "${id}" was already used with a different request; use a new id`, {
    reason: 'IDEMPOTENCY_KEY_REUSED',
    metadata: { [`${scope}_id`]: id },
  });
