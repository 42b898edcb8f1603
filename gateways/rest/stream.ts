// GET /v1/availability/stream: live availability as Server-Sent Events.
import { z } from 'zod';
import { permit } from '../../platform/http/auth.js';
import { defineRoute } from './route.js';
import { locationId, problemSchema, sku } from './schemas.js';
import type { Route } from './route.js';
import type { StreamHub } from './sse.js';

export const MAX_STREAM_SKUS = 100;

const streamQuery = z.object({
  location: locationId.describe('The warehouse or store to watch'),
  sku: z
    .union([sku, z.array(sku).max(MAX_STREAM_SKUS)])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
    .describe(
      `Optional, repeatable (up to ${MAX_STREAM_SKUS}): watch only these items; their current levels are sent first`,
    ),
});

export const streamRoutes = ({
  hub,
  heartbeatMs,
  resumeMs,
}: {
  hub: StreamHub;
  heartbeatMs: number;
  resumeMs: number;
}): Route[] => [
  defineRoute({
    method: 'GET',
    path: '/v1/availability/stream',
    operationId: 'streamAvailability',
    tag: 'Availability',
    summary: 'Live availability changes at a location (Server-Sent Events)',
    description:
      'Events: `open` (data {stream, resumed}), `availability` (data: an Availability plus version and eventId, the full level after a change, ' +
      'never a delta), `reset` (resume was impossible: re-read what you show), `error` (a problem; the stream ends, reconnect). ' +
      `Comment lines every ${Math.round(heartbeatMs / 1000)} s keep proxies from closing an idle stream. ` +
      `Resume: reconnect with Last-Event-ID (browsers' EventSource does this by itself) to the same edge within ${Math.round(resumeMs / 1000)} s and every ` +
      'event since that id is sent first; later, or on another edge replica, you get a new stream and a `reset`. ' +
      'Without sku, changes are watched from the moment the core registers the stream (a few ms after `open`); with sku, current levels come first, so nothing is missed.',
    action: 'read',
    query: streamQuery,
    headers: [
      {
        name: 'Last-Event-ID',
        required: false,
        description: 'The id of the last event received, to resume',
        schema: z.string(),
      },
    ],
    responses: [
      {
        status: 200,
        description: 'An event stream',
        schema: z.string().describe('text/event-stream'),
        contentType: 'text/event-stream',
      },
      {
        status: 400,
        description: 'Missing or bad location or sku',
        schema: problemSchema,
        contentType: 'application/problem+json',
      },
    ],
    async handle({ query, caller, req, reply }) {
      permit(caller, 'read', { locations: [query.location] });
      hub.open(req, reply, caller, { locationId: query.location, skus: query.sku });
    },
  }),
];
