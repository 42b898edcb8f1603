// What a web shop shows: availability per item, single and batched, cacheable.
import { Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { permit } from '../../platform/http/auth.js';
import { toAvailability } from './convert.js';
import { etagOf, notModified } from './http.js';
import { defineRoute } from './route.js';
import {
  MAX_BATCH_ITEMS,
  availability,
  availabilityBatch,
  availabilityBatchBody,
  availabilityParams,
  availabilityTarget,
  problemSchema,
} from './schemas.js';
import { invalidRequest } from '../../platform/http/problems.js';
import { singleFlight } from './singleFlight.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { QueryStockResponse } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import type { CoreClient } from './core.js';
import type { Node } from './convert.js';
import type { Route } from './route.js';
import { traceparentOf } from '../../platform/http/telemetry.js';

export type AvailabilityDeps = { core: CoreClient; maxAgeS: number };

const nodeOf = (t: { location?: string | undefined; region?: string | undefined }): Node =>
  t.location !== undefined ? { location: t.location } : { region: t.region ?? '' };
const nodeId = (n: Node): string => ('location' in n ? n.location : n.region);

const REGION_NOTE =
  'A region id is passed to the core as the location id; the core sums every warehouse and store below it ' +
  '(locationCount says how many) once the location network is registered (UpsertLocation with parent_id).';

const cacheable = (req: FastifyRequest, reply: FastifyReply, maxAgeS: number, tagged: unknown, body: unknown) => {
  const etag = etagOf(tagged);
  // private: answers depend on the caller's tenant (the token), so shared caches must not keep them.
  void reply
    .header('etag', etag)
    .header('cache-control', `private, max-age=${maxAgeS}`)
    .header('vary', 'authorization');
  if (notModified(req, etag)) return reply.code(304).send();
  return body;
};

const tagOf = (a: z.infer<typeof availability>) => [
  a.sku,
  a.location ?? null,
  a.region ?? null,
  a.locationCount ?? null,
  a.available,
  a.status,
  a.stale,
];

export const availabilityRoutes = ({ core, maxAgeS }: AvailabilityDeps): Route[] => {
  // Joined only by callers of the same tenant, each verified and permitted on its own first.
  const shared = singleFlight<QueryStockResponse>();
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/availability/{sku}',
      operationId: 'getAvailability',
      tag: 'Availability',
      summary: 'Availability of one item at a location or region',
      description:
        'Served from the availability view (Redis), falling back to the ledger. Unknown SKUs or locations answer 0 and OUT_OF_STOCK, never 404. ' +
        'Identical requests of one tenant arriving while the same read is in flight share its answer. ' +
        `Send If-None-Match with the ETag you got to receive 304 while nothing changed. ${REGION_NOTE}`,
      action: 'read',
      params: availabilityParams,
      query: availabilityTarget,
      responses: [
        {
          status: 200,
          description: 'The availability',
          schema: availability,
          headers: {
            ETag: 'Changes when available, status or stale change',
            'Cache-Control': `private, max-age=${maxAgeS}`,
          },
        },
        { status: 304, description: 'Not modified since the ETag in If-None-Match' },
        {
          status: 400,
          description: 'Bad sku, location or region',
          schema: problemSchema,
          contentType: 'application/problem+json',
        },
      ],
      async handle({ params, query, caller, req, reply }) {
        const node = nodeOf(query);
        permit(caller, 'read', { locations: [nodeId(node)] });
        const { levels } = await shared(JSON.stringify([caller.claims.tenant, params.sku, node]), () =>
          core.inventory.queryStock(
            { keys: [{ sku: params.sku, locationId: nodeId(node) }], consistency: Consistency.EVENTUAL },
            core.unary({ token: caller.token, correlationId: req.id, traceparent: traceparentOf(req) }),
          ),
        );
        const level = levels[0];
        if (level === undefined) throw new Error('the core answered no level for the key');
        const body = toAvailability(level, node);
        return cacheable(req, reply, maxAgeS, tagOf(body), body);
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/availability:batch',
      operationId: 'getAvailabilityBatch',
      tag: 'Availability',
      summary: `Availability of up to ${MAX_BATCH_ITEMS} items in one call (category pages)`,
      description: `One core round trip for all items; answers in request order. ETag and If-None-Match work as for a single item. ${REGION_NOTE}`,
      action: 'read',
      body: availabilityBatchBody,
      responses: [
        {
          status: 200,
          description: 'One availability per item',
          schema: availabilityBatch,
          headers: { ETag: 'Over all items' },
        },
        { status: 304, description: 'Not modified since the ETag in If-None-Match' },
        {
          status: 400,
          description: `Bad items, or more than ${MAX_BATCH_ITEMS}`,
          schema: problemSchema,
          contentType: 'application/problem+json',
        },
      ],
      async handle({ body, caller, req, reply }) {
        const bad = body.items.flatMap((it, i) =>
          (it.location === undefined) === (it.region === undefined)
            ? [{ field: `items[${i}].location`, message: 'give exactly one of location or region' }]
            : [],
        );
        if (bad.length > 0) throw invalidRequest(bad);
        const nodes = body.items.map(nodeOf);
        permit(caller, 'read', { locations: nodes.map(nodeId) });
        const { levels } = await core.inventory.queryStock(
          {
            keys: body.items.map((it, i) => ({ sku: it.sku, locationId: nodeId(nodes[i] as Node) })),
            consistency: Consistency.EVENTUAL,
          },
          core.unary({ token: caller.token, correlationId: req.id, traceparent: traceparentOf(req) }),
        );
        const items = levels.map((l, i) => toAvailability(l, nodes[i] as Node));
        return cacheable(req, reply, maxAgeS, items.map(tagOf), { items });
      },
    }),
  ];
};
