// Reservations: create with an Idempotency-Key, then confirm, fulfil or release.
import { uuidv5 } from '../../platform/ids.js';
import { permit } from '../../platform/http/auth.js';
import { channelToPb, toReservation } from './convert.js';
import { problem } from '../../platform/http/problems.js';
import { defineRoute } from './route.js';
import {
  IDEMPOTENCY_KEY,
  confirmBody,
  createReservationBody,
  fulfilBody,
  problemSchema,
  releaseBody,
  reservation,
  reservationParams,
} from './schemas.js';
import { z } from 'zod';
import type { CoreClient } from './core.js';
import type { ResponseDoc, Route } from './route.js';
import { traceparentOf } from '../../platform/http/telemetry.js';

/** Namespace of reservation ids derived from Idempotency-Keys (a fixed random UUID; never change it). */
export const IDEMPOTENCY_NAMESPACE = '3b0f6c52-8e3d-4a71-b6c9-5d2e1f7a9c04';

/** The core reservation id for a key: deterministic, so a retry anywhere reaches the same reservation. */
export const reservationIdFor = (tenant: string, key: string): string =>
  uuidv5(JSON.stringify([tenant, key]), IDEMPOTENCY_NAMESPACE);

const problemDoc = (status: number, description: string): ResponseDoc => ({
  status,
  description,
  schema: problemSchema,
  contentType: 'application/problem+json',
});

const transitionResponses = [
  {
    status: 200,
    description: 'The reservation after the transition (repeating a done transition changes nothing)',
    schema: reservation,
  },
  problemDoc(404, 'No such reservation for this tenant'),
  problemDoc(
    409,
    'Not allowed in its state: reason RESERVATION_EXPIRED, RESERVATION_NOT_CONFIRMED, RESERVATION_FULFILLED or RESERVATION_RELEASED',
  ),
];

export const reservationRoutes = ({ core }: { core: CoreClient }): Route[] => {
  // Creations running in this process, by tenant and key: a concurrent duplicate answers 409 instead of waiting.
  const running = new Set<string>();

  const transition = (
    name: 'confirm' | 'fulfil' | 'release',
    summary: string,
    body: z.ZodType,
    call: (
      id: string,
      body: Record<string, string | undefined>,
      o: ReturnType<CoreClient['unary']>,
    ) => Promise<{ reservation?: Parameters<typeof toReservation>[0] }>,
  ) =>
    defineRoute({
      method: 'POST',
      path: `/v1/reservations/{id}/${name}`,
      operationId: `${name}Reservation`,
      tag: 'Reservations',
      summary,
      action: 'transition',
      params: reservationParams,
      body,
      responses: transitionResponses,
      async handle({ params, body: b, caller, req }) {
        const out = await call(
          params.id,
          (b ?? {}) as Record<string, string | undefined>,
          core.unary({ token: caller.token, correlationId: req.id, traceparent: traceparentOf(req) }),
        );
        return toReservation(out.reservation);
      },
    });

  return [
    defineRoute({
      method: 'POST',
      path: '/v1/reservations',
      operationId: 'createReservation',
      tag: 'Reservations',
      summary: 'Hold stock for an order: all lines or none',
      description:
        'Idempotency-Key is required. The reservation id is uuidv5(tenant, key), so a retry with the same key and body returns the original ' +
        'reservation (201, same body) from any edge replica, for at least 24 h (the core keeps keys without expiry, so a key is never reused ' +
        'for another reservation). The same key with another body answers 422; while the first request with that key is still running on ' +
        'this edge process, 409 with Retry-After. A refusal (409 insufficient-stock) is not remembered: the same key may be retried.',
      action: 'reserve',
      headers: [
        {
          name: 'Idempotency-Key',
          required: true,
          description: 'Your id for this order attempt: 1 to 255 visible ASCII characters, e.g. a UUID',
          schema: z.string().regex(IDEMPOTENCY_KEY),
        },
      ],
      body: createReservationBody,
      responses: [
        {
          status: 201,
          description: 'Held (or the original answer to this key)',
          schema: reservation,
          headers: { Location: '/v1/reservations/{id}' },
        },
        problemDoc(400, 'Missing Idempotency-Key or a bad body'),
        problemDoc(409, 'insufficient-stock (with sku, location, requested, available), or idempotency-key-in-use'),
        problemDoc(422, 'conflicting-reuse: the key was used with another body; or unprocessable input'),
      ],
      async handle({ body, caller, req, reply }) {
        const key = req.headers['idempotency-key'];
        if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
          throw problem({
            slug: 'invalid-request',
            title: 'The request is not valid',
            status: 400,
            detail:
              'Idempotency-Key: required, 1 to 255 visible ASCII characters (e.g. a UUID you keep with the order attempt)',
            extensions: {
              errors: [{ field: 'Idempotency-Key', message: 'required, 1 to 255 visible ASCII characters' }],
            },
          });
        }
        permit(caller, 'reserve', { channel: body.channel, locations: body.lines.map((l) => l.location) });
        const slot = JSON.stringify([caller.claims.tenant, key]);
        if (running.has(slot)) {
          throw problem({
            slug: 'idempotency-key-in-use',
            title: 'A request with this Idempotency-Key is still running',
            status: 409,
            detail:
              'the first request with this Idempotency-Key has not finished; retry after a second to get its answer',
            headers: { 'retry-after': '1' },
          });
        }
        running.add(slot);
        try {
          const id = reservationIdFor(caller.claims.tenant, key);
          const out = await core.inventory.reserveStock(
            {
              reservationId: id,
              channel: channelToPb(body.channel),
              lines: body.lines.map((l) => ({
                sku: l.sku,
                locationId: l.location,
                quantity: BigInt(l.quantity),
                unit: l.unit ?? '',
              })),
              ...(body.ttlSeconds === undefined ? {} : { ttl: { seconds: BigInt(body.ttlSeconds), nanos: 0 } }),
              orderRef: body.orderRef ?? '',
            },
            core.unary({ token: caller.token, correlationId: req.id, traceparent: traceparentOf(req) }),
          );
          void reply.code(201).header('location', `/v1/reservations/${encodeURIComponent(id)}`);
          return toReservation(out.reservation);
        } finally {
          running.delete(slot);
        }
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/reservations/{id}',
      operationId: 'getReservation',
      tag: 'Reservations',
      summary: 'One reservation',
      action: 'read',
      params: reservationParams,
      responses: [
        { status: 200, description: 'The reservation now', schema: reservation },
        problemDoc(404, 'No such reservation for this tenant'),
      ],
      async handle({ params, caller, req, reply }) {
        const out = await core.inventory.getReservation(
          { reservationId: params.id },
          core.unary({ token: caller.token, correlationId: req.id, traceparent: traceparentOf(req) }),
        );
        void reply.header('cache-control', 'no-store');
        return toReservation(out.reservation);
      },
    }),
    transition('confirm', 'Paid: reserved units become committed', confirmBody, (id, b, o) =>
      core.inventory.confirmReservation({ reservationId: id, orderRef: b.orderRef ?? '' }, o),
    ),
    transition('fulfil', 'Shipped: on hand and committed go down', fulfilBody, (id, b, o) =>
      core.inventory.fulfilReservation({ reservationId: id, shipmentRef: b.shipmentRef ?? '' }, o),
    ),
    transition('release', 'Cancelled: the units become available again', releaseBody, (id, b, o) =>
      core.inventory.releaseStock({ reservationId: id, reason: b.reason ?? '' }, o),
    ),
  ];
};
