// Back offices: every level of one item at one location.
import { Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { permit } from '../../platform/http/auth.js';
import { toStockLevel } from './convert.js';
import { defineRoute } from './route.js';
import { problemSchema, stockLevel, stockQuery } from './schemas.js';
import type { CoreClient } from './core.js';
import type { Route } from './route.js';
import { traceparentOf } from '../../platform/http/telemetry.js';

export const stockRoutes = ({ core }: { core: CoreClient }): Route[] => [
  defineRoute({
    method: 'GET',
    path: '/v1/stock',
    operationId: 'getStock',
    tag: 'Stock',
    summary: 'Every level of one item at one location (back offices)',
    description:
      'Read from the ledger by default (consistency=strong); consistency=eventual reads the availability view.',
    action: 'read',
    query: stockQuery,
    responses: [
      { status: 200, description: 'The levels', schema: stockLevel },
      {
        status: 400,
        description: 'Missing or bad sku, location or consistency',
        schema: problemSchema,
        contentType: 'application/problem+json',
      },
    ],
    async handle({ query, caller, req, reply }) {
      permit(caller, 'read', { locations: [query.location] });
      const { levels } = await core.inventory.queryStock(
        {
          keys: [{ sku: query.sku, locationId: query.location }],
          consistency: query.consistency === 'strong' ? Consistency.STRONG : Consistency.EVENTUAL,
        },
        core.unary({ token: caller.token, correlationId: req.id, traceparent: traceparentOf(req) }),
      );
      const level = levels[0];
      if (level === undefined) throw new Error('the core answered no level for the key');
      void reply.header('cache-control', 'no-store');
      return toStockLevel(level);
    },
  }),
];
