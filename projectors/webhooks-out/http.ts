// Partner webhook subscriptions over REST, for the tenant's admins:
//   POST   /v1/webhooks/subscriptions                  { url, eventTypes, description? } → 201, with the secret (shown once)
//   GET    /v1/webhooks/subscriptions                  → the tenant's subscriptions
//   GET    /v1/webhooks/subscriptions/{id}
//   DELETE /v1/webhooks/subscriptions/{id}             → 204; pending deliveries are cancelled
//   GET    /v1/webhooks/subscriptions/{id}/deliveries  ?status=pending|delivered|dead|cancelled&limit=1..200
// A Fastify plugin: register it in the REST edge (`plugins`) or any Fastify app.
import { z } from 'zod';
import { safeText } from '../../platform/text.js';
import { cachingVerifier } from '../../platform/auth/tokens.js';
import { POOL_CHECKOUT_TIMEOUT, createPool, isConnectionError } from '../../platform/postgres/pool.js';
import { loadWebhooksOutSettings } from './settings.js';
import { prepareDatabase } from '../../platform/postgres/migrate.js';
import { WEBHOOKS_OUT_SCHEMA } from './schema.js';
import { authenticate } from '../../platform/http/auth.js';
import { HttpProblem, problem, sendProblem } from '../../platform/http/problems.js';
import { checkTargetUrl } from './targets.js';
import {
  EVENT_TYPE_PATTERN,
  createSubscription,
  deleteSubscription,
  getSubscription,
  listDeliveries,
  listSubscriptions,
} from './subscriptions.js';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { TokenVerifier } from '../../platform/auth/tokens.js';
import type { Claims } from '../../platform/auth/tokens.js';
import type { Config } from '../../platform/config.js';

export type SubscriptionRoutesDeps = {
  pool: pg.Pool;
  verify: TokenVerifier;
  /** STOCKMIND_WEBHOOK_ALLOW_PRIVATE_TARGETS: accept loopback and private URLs (tests, local development). */
  allowPrivateTargets: boolean;
  log: Logger;
};

const createBody = z
  .object({
    url: safeText(z.string().min(1).max(2048)),
    eventTypes: z
      .array(
        z
          .string()
          .regex(
            EVENT_TYPE_PATTERN,
            'an event type (stockmind.stock.stock_reserved.v1), a prefix (stockmind.stock.*) or *',
          ),
      )
      .min(1)
      .max(50),
    description: safeText(z.string().max(256)).optional(),
  })
  .strict();

const deliveriesQuery = z
  .object({
    status: z.enum(['pending', 'delivered', 'dead', 'cancelled']).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const invalid = (issues: z.core.$ZodIssue[]): HttpProblem => {
  const errors = issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
  return problem({
    slug: 'invalid-request',
    title: 'The request is not valid',
    status: 400,
    detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
    extensions: { errors },
  });
};

const notFound = (id: string): HttpProblem =>
  problem({
    slug: 'not-found',
    title: 'Not found',
    status: 404,
    detail: `no webhook subscription "${id.slice(0, 64)}" for this tenant`,
  });

export const subscriptionRoutes =
  (deps: SubscriptionRoutesDeps): FastifyPluginAsync =>
  async (app) => {
    const admin = async (req: FastifyRequest): Promise<Claims> => {
      const { claims } = await authenticate(deps.verify, req);
      if (!claims.roles.includes('admin')) {
        throw problem({
          slug: 'forbidden',
          title: 'Not allowed',
          status: 403,
          detail: 'managing webhook subscriptions needs the admin role',
          extensions: { reason: 'ROLE_NOT_ALLOWED' },
        });
      }
      return claims;
    };
    // Self-contained answers: the same problem+json as the edge, whether or not the edge's error handler is around.
    const handle =
      (fn: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) =>
      async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
        try {
          return await fn(req, reply);
        } catch (err) {
          const path = req.url.split('?')[0] ?? req.url;
          if (err instanceof HttpProblem) return sendProblem(reply, err.problem, path);
          if (isConnectionError(err) || (err instanceof Error && err.message === POOL_CHECKOUT_TIMEOUT)) {
            deps.log.warn({ err: (err as Error).message, url: path }, 'webhook subscriptions: Postgres unavailable');
            return sendProblem(
              reply,
              {
                slug: 'unavailable',
                title: 'Temporarily unavailable',
                status: 503,
                detail: 'subscriptions cannot be read or written right now; nothing was changed, retry shortly',
                headers: { 'retry-after': '5' },
              },
              path,
            );
          }
          deps.log.error({ err, url: path }, 'webhook subscription request failed');
          return sendProblem(
            reply,
            {
              slug: 'internal',
              title: 'Internal error',
              status: 500,
              detail: 'internal error; retry, and report the correlation id if it persists',
            },
            path,
          );
        }
      };
    const subscriptionOf = async (tenantId: string, id: string) => {
      const s = UUID.test(id) ? await getSubscription(deps.pool, tenantId, id) : null;
      if (s === null) throw notFound(id);
      return s;
    };

    app.post(
      '/v1/webhooks/subscriptions',
      handle(async (req, reply) => {
        const claims = await admin(req);
        const body = createBody.safeParse(req.body);
        if (!body.success) throw invalid(body.error.issues);
        const target = await checkTargetUrl(body.data.url, deps.allowPrivateTargets);
        if (!target.ok) {
          throw problem({
            slug: 'unprocessable',
            title: 'The URL cannot be used',
            status: 422,
            detail: `url: ${target.problem}`,
            extensions: { errors: [{ field: 'url', message: target.problem }] },
          });
        }
        const created = await createSubscription(deps.pool, {
          tenantId: claims.tenant,
          url: target.url.toString(),
          eventTypes: [...new Set(body.data.eventTypes)],
          description: body.data.description ?? '',
          createdBy: claims.sub,
        });
        deps.log.info(
          {
            tenant: claims.tenant,
            subscriptionId: created.subscription.id,
            eventTypes: created.subscription.eventTypes,
          },
          'webhook subscription created',
        );
        return reply
          .code(201)
          .header('location', `/v1/webhooks/subscriptions/${created.subscription.id}`)
          .send({ ...created.subscription, secret: created.secret });
      }),
    );

    app.get(
      '/v1/webhooks/subscriptions',
      handle(async (req) => {
        const claims = await admin(req);
        return { subscriptions: await listSubscriptions(deps.pool, claims.tenant) };
      }),
    );

    app.get<{ Params: { id: string } }>(
      '/v1/webhooks/subscriptions/:id',
      handle(async (req) => {
        const claims = await admin(req);
        return subscriptionOf(claims.tenant, (req.params as { id: string }).id);
      }),
    );

    app.delete<{ Params: { id: string } }>(
      '/v1/webhooks/subscriptions/:id',
      handle(async (req, reply) => {
        const claims = await admin(req);
        const id = (req.params as { id: string }).id;
        if (!UUID.test(id) || !(await deleteSubscription(deps.pool, claims.tenant, id))) throw notFound(id);
        deps.log.info({ tenant: claims.tenant, subscriptionId: id }, 'webhook subscription deleted');
        return reply.code(204).send();
      }),
    );

    app.get<{ Params: { id: string } }>(
      '/v1/webhooks/subscriptions/:id/deliveries',
      handle(async (req) => {
        const claims = await admin(req);
        const query = deliveriesQuery.safeParse(req.query);
        if (!query.success) throw invalid(query.error.issues);
        const s = await subscriptionOf(claims.tenant, (req.params as { id: string }).id);
        const deliveries = await listDeliveries(deps.pool, claims.tenant, s.id, {
          limit: query.data.limit,
          ...(query.data.status === undefined ? {} : { status: query.data.status }),
        });
        return { subscriptionId: s.id, deliveries };
      }),
    );
  };

/**
 * The plugin as the edge process mounts it: its own small pool (subscriptions live in
 * DATABASE_URL, in webhooks-out's tables, created here when missing) and the same private-target
 * rule as delivery (STOCKMIND_WEBHOOK_ALLOW_PRIVATE_TARGETS).
 */
export const webhookSubscriptions = async (
  config: Pick<Config, 'databaseUrl' | 'jwtSecret'>,
  log: Logger,
): Promise<{ plugin: FastifyPluginAsync; close(): Promise<void> }> => {
  await prepareDatabase(config.databaseUrl, [WEBHOOKS_OUT_SCHEMA], log);
  const pool = createPool({ databaseUrl: config.databaseUrl, max: 3, applicationName: 'stockmind-edge-webhooks' });
  const { allowPrivateTargets } = loadWebhooksOutSettings();
  return {
    plugin: subscriptionRoutes({ pool, verify: cachingVerifier(config.jwtSecret), allowPrivateTargets, log }),
    close: () => pool.end(),
  };
};
