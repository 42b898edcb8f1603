// The one place where outcomes become Connect / gRPC status codes.
import { codeName } from './telemetry.js';
import { Code, ConnectError } from '@connectrpc/connect';
import { create } from '@bufbuild/protobuf';
import {
  BadRequestSchema,
  BadRequest_FieldViolationSchema,
  ErrorInfoSchema,
} from '../../../gen/google/rpc/error_details_pb.js';
import { AppError } from '../../../platform/errors.js';
import { CancelledBeforeCommit, PoolBusy } from '../../../platform/postgres/tx.js';
import { ConcurrencyError } from '../store/eventStore.js';
import { POOL_CHECKOUT_TIMEOUT, isConnectionError, isPgError } from '../../../platform/postgres/pool.js';
import type { ErrorCode } from '../../../platform/errors.js';
import type { Outcome, PolicyRefusal, Refusal } from '../app/outcome.js';

export const ERROR_DOMAIN = 'stockmind.io';

const CODES: Record<ErrorCode, Code> = {
  INVALID_ARGUMENT: Code.InvalidArgument,
  NOT_FOUND: Code.NotFound,
  ALREADY_EXISTS: Code.AlreadyExists,
  FAILED_PRECONDITION: Code.FailedPrecondition,
  ABORTED: Code.Aborted,
  UNAVAILABLE: Code.Unavailable,
  DEADLINE_EXCEEDED: Code.DeadlineExceeded,
  UNAUTHENTICATED: Code.Unauthenticated,
  PERMISSION_DENIED: Code.PermissionDenied,
  INTERNAL: Code.Internal,
};

const errorInfo = (reason: string, metadata: Record<string, string> = {}) => ({
  desc: ErrorInfoSchema,
  value: create(ErrorInfoSchema, { reason, domain: ERROR_DOMAIN, metadata }),
});

const badRequest = (violations: { field: string; description: string }[]) => ({
  desc: BadRequestSchema,
  value: create(BadRequestSchema, {
    fieldViolations: violations.map((v) => create(BadRequest_FieldViolationSchema, v)),
  }),
});

const hours = (ms: number) => `${+(ms / 3_600_000).toFixed(2)} h`;

/**
 * A refusal to FAILED_PRECONDITION (or NOT_FOUND, ALREADY_EXISTS) with the reason and the numbers; a
 * hold above the policy's maximum to INVALID_ARGUMENT naming `ttl`.
 */
export const refusalToConnectError = (r: Refusal): ConnectError => {
  if (r.reason === 'TTL_ABOVE_POLICY_MAX') {
    const description = `at most ${r.maxTtlMs / 1000} s (${hours(r.maxTtlMs)}) for CHANNEL_${r.channel}, the tenant policy's maximum; ${r.ttlMs / 1000} s asked`;
    return new ConnectError(`ttl: ${description}`, Code.InvalidArgument, undefined, [
      errorInfo(r.reason, { channel: `CHANNEL_${r.channel}`, max_ttl_seconds: String(r.maxTtlMs / 1000) }),
      badRequest([{ field: 'ttl', description }]),
    ]);
  }
  const [code, message, meta] = refusalParts(r);
  return new ConnectError(message, code, undefined, [errorInfo(r.reason, meta)]);
};

/** The value of an outcome, or its refusal thrown as a ConnectError. */
export const unwrap = <T>(outcome: Outcome<T>): T => {
  if (!outcome.ok) throw refusalToConnectError(outcome.refusal);
  return outcome.value;
};

const refusalParts = (r: Exclude<Refusal, PolicyRefusal>): [Code, string, Record<string, string>] => {
  if ('reservationId' in r) {
    const meta = { reservation_id: r.reservationId, status: r.status };
    switch (r.reason) {
      case 'RESERVATION_NOT_FOUND':
        return [Code.NotFound, `reservation "${r.reservationId}" does not exist`, meta];
      case 'RESERVATION_EXISTS':
        return [Code.AlreadyExists, `reservation "${r.reservationId}" already exists; use a new reservation_id`, meta];
      case 'ORDER_REF_MISMATCH':
        return [
          Code.AlreadyExists,
          `reservation "${r.reservationId}" is already confirmed for another order_ref`,
          meta,
        ];
      default:
        return [
          Code.FailedPrecondition,
          `reservation "${r.reservationId}" is ${r.status}: ${describe[r.reason]}`,
          meta,
        ];
    }
  }
  const at = `"${r.sku}" at "${r.locationId}"`;
  const item = { sku: r.sku, location_id: r.locationId };
  const failed = (message: string, meta: Record<string, string>): [Code, string, Record<string, string>] => [
    Code.FailedPrecondition,
    message,
    { ...item, ...meta },
  ];
  switch (r.reason) {
    case 'INSUFFICIENT_STOCK':
      return failed(
        `not enough stock for sku "${r.sku}" at "${r.locationId}": requested ${r.requested}, available ${r.available}; nothing was applied`,
        { requested: String(r.requested), available: String(r.available) },
      );
    case 'NOT_ENOUGH_ON_HAND':
      return failed(
        `only ${r.onHand} on hand for ${at}, cannot take ${r.requested}; count the shelf (ADJUSTMENT_KIND_CYCLE_COUNT) if it is wrong`,
        { requested: String(r.requested), on_hand: String(r.onHand) },
      );
    case 'NOT_ENOUGH_QUARANTINED':
      return failed(`only ${r.quarantined} in quarantine for ${at}, cannot check ${r.requested}`, {
        requested: String(r.requested),
        quarantined: String(r.quarantined),
      });
    case 'EXPECTATION_NOT_OPEN':
      return failed(`no open expectation "${r.expectationId}" for ${at}`, { expected_movement_id: r.expectationId });
    case 'TRANSFER_NOT_IN_TRANSIT':
      return failed(`transfer "${r.transferId}" is not in transit to "${r.locationId}" (already received?)`, {
        transfer_id: r.transferId,
      });
    case 'RECEIVED_MORE_THAN_DISPATCHED':
      return failed(
        `transfer "${r.transferId}" dispatched ${r.dispatched}, cannot receive ${r.received}; record the surplus with ReceiveStock`,
        { transfer_id: r.transferId, dispatched: String(r.dispatched), received: String(r.received) },
      );
    case 'RETURN_WINDOW_CLOSED':
      return failed(
        `sold at ${r.soldAt}: outside the return window of ${r.returnWindowDays} days; nothing was returned to stock`,
        { sold_at: r.soldAt, return_window_days: String(r.returnWindowDays) },
      );
    default:
      return assertNeverRefusal(r);
  }
};

const assertNeverRefusal = (r: never): never => {
  throw new Error(`unmapped refusal ${JSON.stringify(r)}`);
};

const describe: Record<
  'RESERVATION_EXPIRED' | 'RESERVATION_NOT_CONFIRMED' | 'RESERVATION_FULFILLED' | 'RESERVATION_RELEASED',
  string
> = {
  RESERVATION_EXPIRED: 'it expired and its stock was released; place a new reservation',
  RESERVATION_NOT_CONFIRMED: 'confirm it before fulfilling it',
  RESERVATION_FULFILLED: 'the goods have shipped; record a return instead',
  RESERVATION_RELEASED: 'it was released; place a new reservation',
};

/** Any thrown error to a ConnectError that says what to do, never leaking SQL or stack traces. */
export const toConnectError = (err: unknown): ConnectError => {
  if (err instanceof ConnectError) return err;
  if (err instanceof AppError) {
    const details = [];
    if (err.details.reason !== undefined) details.push(errorInfo(err.details.reason, err.details.metadata));
    if (err.details.violations !== undefined) details.push(badRequest(err.details.violations));
    return new ConnectError(err.message, CODES[err.code], undefined, details);
  }
  if (err instanceof CancelledBeforeCommit) {
    return new ConnectError(`${err.message}`, Code.DeadlineExceeded, undefined, [errorInfo('CANCELLED_BEFORE_COMMIT')]);
  }
  if (err instanceof PoolBusy || (err instanceof Error && err.message === POOL_CHECKOUT_TIMEOUT)) {
    return new ConnectError(err.message, Code.Aborted, undefined, [errorInfo('LEDGER_BUSY')]);
  }
  if (isPgError(err, '55P03')) {
    return new ConnectError(
      'the stock item is busy (lock wait exceeded); nothing was applied, retry shortly',
      Code.Aborted,
      undefined,
      [errorInfo('LOCK_TIMEOUT')],
    );
  }
  if (isPgError(err, '57014')) {
    return new ConnectError(
      'the command took too long and was cancelled; nothing was applied, retry shortly',
      Code.Aborted,
      undefined,
      [errorInfo('STATEMENT_TIMEOUT')],
    );
  }
  if (isPgError(err, '40001') || isPgError(err, '40P01') || err instanceof ConcurrencyError) {
    return new ConnectError(
      'the command collided with concurrent commands too often; nothing was applied, retry',
      Code.Aborted,
      undefined,
      [errorInfo('CONTENTION')],
    );
  }
  if (isConnectionError(err)) {
    return new ConnectError(
      'the stock ledger is unavailable; nothing was applied, retry with the same id',
      Code.Unavailable,
      undefined,
      [errorInfo('LEDGER_UNAVAILABLE')],
    );
  }
  return new ConnectError('internal error', Code.Internal);
};

/** What a failed call answers, as a metric label: its ErrorInfo reason, else its code's name (no message). */
export const errorReason = (err: unknown): string => {
  const mapped = toConnectError(err);
  for (const d of mapped.details)
    if ('desc' in d && d.desc === ErrorInfoSchema) return (d.value as { reason: string }).reason;
  return codeName(mapped.code);
};
