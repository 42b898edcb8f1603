// A write command as data: which streams it locks, how it is deduplicated, a pure decision over the
// locked states, and its answer. Use cases build specs and hand them to a CommandHandler; how the
// handler runs them (one transaction each today, a batch per transaction with group commit) is
// its own business, so the executor can change without touching a use case.
import type pg from 'pg';
import type { Channel } from '../domain/shared.js';
import type { TenantPolicy } from '../../../contracts/policy.js';
import type { IdempotencyScope } from '../store/idempotency.js';
import type { StreamKey } from '../store/eventStore.js';
import type { DomainEvent, StreamState } from './appends.js';
import type { Caller } from './caller.js';
import type { Outcome, Refusal } from './outcome.js';

export type CommandSpec<A, R extends Refusal = Refusal> = {
  /** Names the command in event ids and in lost-demand records. */
  command: string;
  /** The command's id: the causation id of its events and, with `command`, the seed of their ids. */
  id: string;
  /** Same id + same request → the original answer; null for a command idempotent by nature (a transition). */
  idempotency: { scope: IdempotencyScope; requestHash: string } | null;
  channel: Channel | null;
  /** Every stream the command may append to; `decide` and `answer` see them in this order. */
  streams: StreamKey[];
  /** Pure: the states as locked, the command's instant (read after the locks) and the tenant's policy. */
  decide: (states: StreamState[], now: Date, policy: TenantPolicy) => Decision<R>;
  /** What the caller gets, and a retry with the same id replays. */
  answer: (after: StreamAfter[], now: Date, policy: TenantPolicy) => A;
  /** A refusal for want of stock is lost demand, counted for analytics (a sale's is; a transition's is not). */
  lostDemand: boolean;
  /** A back-dated movement; never later than the command's own time. */
  occurredAt?: Date | null;
  /** Rows beyond the events, written in the same transaction (where a transfer goes). */
  alsoWrite?: (client: pg.ClientBase, now: Date) => Promise<void>;
};

/** `events[i]` go to `streams[i]`; all empty = nothing to do (an accepted repeat). */
export type Decision<R> =
  | { kind: 'accepted'; events: DomainEvent[][]; expiry?: { reservationId: string; expiresAt: Date } }
  | { kind: 'refused'; refusal: R };

/** A stream once the decision is applied. */
export type StreamAfter = {
  key: StreamKey;
  state: StreamState;
  events: DomainEvent[];
  version: number;
  createdAt: Date;
  updatedAt: Date;
};

/**
 * A command whose streams are known only from a read: a transition locks its reservation's lines.
 * The read is unlocked, in the command's transaction (lines never change once placed).
 */
export type ReadThenSpec<A, R extends Refusal = Refusal> = (db: pg.ClientBase) => Promise<CommandSpec<A, R>>;

export type Command<A, R extends Refusal = Refusal> = CommandSpec<A, R> | ReadThenSpec<A, R>;

export type CommandHandler = {
  /** Runs the command in a transaction of its own and answers. */
  handle<A, R extends Refusal>(caller: Caller, command: Command<A, R>): Promise<Outcome<A, R>>;
  /**
   * Runs it inside a transaction the caller holds and commits (the expiry claim). A refusal undoes
   * nothing there, so this is for commands without an idempotency key.
   */
  handleIn<A, R extends Refusal>(client: pg.ClientBase, caller: Caller, command: Command<A, R>): Promise<Outcome<A, R>>;
};
