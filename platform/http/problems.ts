// RFC 9457 problem details: the one place where failures become HTTP answers.
import { Code, ConnectError } from '@connectrpc/connect';
import { BadRequestSchema, ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import type { FastifyReply } from 'fastify';

export const PROBLEM_BASE = 'https://stockmind.io/problems/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export type FieldError = { field: string; message: string };

export type ProblemInit = {
  slug: string;
  title: string;
  status: number;
  detail: string;
  /** Extension members (sku, requested, available, errors, reason, ...). */
  extensions?: Record<string, unknown>;
  headers?: Record<string, string>;
};

export class HttpProblem extends Error {
  override name = 'HttpProblem';
  constructor(readonly problem: ProblemInit) {
    super(problem.detail);
  }
}

export const problem = (init: ProblemInit): HttpProblem => new HttpProblem(init);

export const invalidRequest = (errors: FieldError[]): HttpProblem =>
  problem({
    slug: 'invalid-request',
    title: 'The request is not valid',
    status: 400,
    detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
    extensions: { errors },
  });

const RESERVED = new Set(['type', 'title', 'status', 'detail', 'instance', 'correlationId']);

export const sendProblem = (reply: FastifyReply, p: ProblemInit, instance: string): FastifyReply => {
  for (const [k, v] of Object.entries(p.headers ?? {})) void reply.header(k, v);
  return reply
    .code(p.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send({
      type: `${PROBLEM_BASE}${p.slug}`,
      title: p.title,
      status: p.status,
      detail: p.detail,
      instance,
      correlationId: reply.request.id,
      // An extension can never override a member RFC 9457 defines.
      ...Object.fromEntries(Object.entries(p.extensions ?? {}).filter(([k]) => !RESERVED.has(k))),
    });
};

// The core names fields as in the proto; the REST bodies name them in camelCase without `_id`.
const REST_FIELD: Record<string, string> = {
  location_id: 'location',
  order_ref: 'orderRef',
  ttl: 'ttlSeconds',
  reservation_id: 'id',
  shipment_ref: 'shipmentRef',
};
const restField = (field: string): string => field.replace(/[a-z_]+/g, (part) => REST_FIELD[part] ?? part);

/** A core (Connect) error as the problem a REST caller sees; the core's messages are written for callers. */
export const fromConnectError = (err: ConnectError): ProblemInit => {
  const info = err.findDetails(ErrorInfoSchema)[0];
  const reason = info?.reason ?? '';
  const meta = info?.metadata ?? {};
  const detail = err.rawMessage;
  switch (err.code) {
    case Code.FailedPrecondition:
      if (reason === 'INSUFFICIENT_STOCK') {
        return {
          slug: 'insufficient-stock',
          title: 'Not enough stock',
          status: 409,
          detail,
          extensions: {
            sku: meta.sku,
            location: meta.location_id,
            requested: Number(meta.requested),
            available: Number(meta.available),
          },
        };
      }
      if (reason.startsWith('RESERVATION_')) {
        return {
          slug: 'reservation-state',
          title: 'The reservation is not in a state that allows this',
          status: 409,
          detail,
          extensions: { reason, reservationStatus: meta.status },
        };
      }
      return {
        slug: 'precondition-failed',
        title: 'Not possible in the current state',
        status: 409,
        detail,
        extensions: { reason },
      };
    case Code.InvalidArgument: {
      const violations = err.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations);
      const errors = violations.map((v) => ({ field: restField(v.field), message: v.description }));
      return {
        slug: 'unprocessable',
        title: 'The request cannot be processed',
        status: 422,
        detail,
        extensions: { errors },
      };
    }
    case Code.NotFound:
      return { slug: 'not-found', title: 'Not found', status: 404, detail, extensions: { reason } };
    case Code.AlreadyExists:
      return {
        slug: 'conflicting-reuse',
        title: 'Already used with another request',
        status: 422,
        detail,
        extensions: { reason },
      };
    case Code.Aborted:
      return {
        slug: 'busy',
        title: 'Busy, retry shortly',
        status: 409,
        detail,
        extensions: { reason },
        headers: { 'retry-after': '1' },
      };
    case Code.DeadlineExceeded:
      return {
        slug: 'deadline-exceeded',
        title: 'The core did not answer in time',
        status: 504,
        detail:
          'the core did not answer within the deadline; a write may or may not have been applied: retry it with the same Idempotency-Key',
      };
    case Code.Unavailable:
      return {
        slug: 'core-unavailable',
        title: 'Temporarily unavailable',
        status: 503,
        // Transport failures carry socket errors; only the core's own messages (with a reason) are shown.
        detail: reason !== '' ? detail : 'the StockMind core is unreachable; nothing was applied, retry shortly',
        extensions: { reason: reason || 'CORE_UNREACHABLE' },
        headers: { 'retry-after': '1' },
      };
    case Code.Unauthenticated:
      return {
        slug: 'unauthenticated',
        title: 'Authentication required',
        status: 401,
        detail,
        headers: { 'www-authenticate': 'Bearer' },
      };
    case Code.PermissionDenied:
      return { slug: 'forbidden', title: 'Not allowed', status: 403, detail, extensions: { reason } };
    case Code.ResourceExhausted:
      return { slug: 'rate-limited', title: 'Too many requests', status: 429, detail, headers: { 'retry-after': '1' } };
    default:
      return {
        slug: 'internal',
        title: 'Internal error',
        status: 500,
        detail: 'internal error; retry, and report the correlation id if it persists',
      };
  }
};

export const isConnectError = (err: unknown): err is ConnectError => err instanceof ConnectError;
