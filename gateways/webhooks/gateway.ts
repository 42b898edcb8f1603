// POST /v1/marketplaces/{tenant}/{marketplace}/orders
//
// Order of checks: known marketplace (404) → signature with the tenant's secret
// over the raw body and a fresh timestamp (401) → JSON and the adapter's schema
// (400 / 422) → dedupe by event id → the core. The tenant in the path is
// trusted only once the signature verified. A notification that breaks only the
// text rule (platform/text.ts) is refused for good: recorded, never sent to the core.
import { createHash } from 'node:crypto';
import Fastify from 'fastify';
import { TENANT_ID } from '../../platform/auth/tokens.js';
import { mountTelemetry } from '../../platform/http/telemetry.js';
import { answers } from '../../platform/telemetry/probes.js';
import { privateTelemetry } from '../../platform/telemetry/telemetry.js';
import { ADAPTERS, MARKETPLACES, parseNotification, reservationIdFor } from './adapters/index.js';
import { answerFor, problemBody, textRefusal } from './answers.js';
import { executeAction } from './core.js';
import { claimEvent, recordAnswer, releaseClaim } from './dedupe.js';
import { marketplaceSecret } from './secrets.js';
import { DEFAULT_TOLERANCE_SECONDS, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from './signature.js';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Problem } from './answers.js';
import type { InventoryClient } from './core.js';
import type { Telemetry } from '../../platform/telemetry/telemetry.js';

export type GatewayDeps = {
  pool: pg.Pool;
  inventory: InventoryClient;
  /** A core token for the tenant (after its marketplace signature verified). */
  tokenFor(tenantId: string): Promise<string>;
  log: Logger;
  toleranceSeconds?: number;
  nowSeconds?: () => number;
  telemetry?: Telemetry;
  /** False once the gateway is closing: /readyz answers 503 while it drains. */
  accepting?: () => boolean;
};

export const MAX_BODY_BYTES = 256 * 1024;
export const REPLAYED_HEADER = 'stockmind-replayed';

const header = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

export const buildWebhookGateway = (deps: GatewayDeps): FastifyInstance => {
  const app = Fastify({ logger: false, bodyLimit: MAX_BODY_BYTES });
  const tolerance = deps.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  // The signature covers the exact bytes received: keep the raw body, parse JSON ourselves.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const problem = (reply: FastifyReply, p: Problem, fields: Record<string, unknown>) => {
    const level = p.status >= 500 ? 'warn' : 'info';
    deps.log[level](
      { ...fields, status: p.status, reason: p.reason, detail: p.detail },
      'marketplace webhook not applied',
    );
    if (p.status === 503 || p.status === 409) void reply.header('retry-after', p.status === 503 ? '5' : '2');
    return reply.code(p.status).type('application/problem+json').send(problemBody(p));
  };

  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) deps.log.error({ err }, 'webhook gateway error');
    const p =
      status === 413
        ? {
            reason: 'BODY_TOO_LARGE',
            detail: `the body is over the limit of ${MAX_BODY_BYTES} bytes; nothing was applied`,
            extra: { limitBytes: MAX_BODY_BYTES },
          }
        : status === 500
          ? { reason: 'INTERNAL', detail: 'internal error; retry later' }
          : { reason: 'BAD_REQUEST', detail: err.message };
    return reply
      .code(status)
      .type('application/problem+json')
      .send(problemBody({ status, title: 'Request not accepted', ...p }));
  });

  // Ready while it can take notifications: its secrets and dedupe records (Postgres) answer.
  mountTelemetry(app, {
    server: 'webhooks',
    telemetry: deps.telemetry ?? privateTelemetry(),
    checks: () => [
      {
        name: 'webhooks',
        ready: async () => (deps.accepting?.() ?? true) && (await answers(() => deps.pool.query('select 1'))),
      },
    ],
  });

  app.post<{ Params: { tenant: string; marketplace: string } }>(
    '/v1/marketplaces/:tenant/:marketplace/orders',
    async (req, reply) => {
      const { tenant, marketplace } = req.params;
      const fields: Record<string, unknown> = { tenant, marketplace };
      const adapter = ADAPTERS.get(marketplace);
      if (adapter === undefined) {
        return problem(
          reply,
          {
            status: 404,
            reason: 'UNKNOWN_MARKETPLACE',
            title: 'Unknown marketplace',
            detail: `"${marketplace.slice(0, 64)}" is not a marketplace this gateway knows; use one of ${MARKETPLACES.join(', ')}`,
          },
          fields,
        );
      }
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let secret: string | null;
      try {
        secret = TENANT_ID.test(tenant) ? await marketplaceSecret(deps.pool, tenant, marketplace) : null;
      } catch (err) {
        deps.log.warn({ err, ...fields }, 'secret lookup failed');
        return problem(
          reply,
          {
            status: 503,
            reason: 'GATEWAY_UNAVAILABLE',
            title: 'Try again',
            detail: 'the gateway cannot read its secrets right now; nothing was applied',
          },
          fields,
        );
      }
      const check = verifySignature({
        secret,
        timestamp: header(req.headers[TIMESTAMP_HEADER]),
        signature: header(req.headers[SIGNATURE_HEADER]),
        body,
        nowSeconds: now(),
        toleranceSeconds: tolerance,
      });
      if (!check.ok)
        return problem(
          reply,
          { status: 401, reason: check.reason, title: 'Signature not accepted', detail: check.message },
          fields,
        );

      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch (err) {
        return problem(
          reply,
          {
            status: 400,
            reason: 'MALFORMED_JSON',
            title: 'The body is not JSON',
            detail: `send the notification as a JSON document (${(err as Error).message})`,
          },
          fields,
        );
      }
      const parsed = parseNotification(adapter, json);
      if (!parsed.ok && !('badTextEventId' in parsed)) {
        const detail = parsed.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
        return problem(
          reply,
          {
            status: 422,
            reason: 'INVALID_NOTIFICATION',
            title: `Not a valid ${marketplace} notification`,
            detail,
            extra: { issues: parsed.issues },
          },
          fields,
        );
      }
      const { eventId, action } = parsed.ok ? parsed.notification : { eventId: parsed.badTextEventId, action: null };
      Object.assign(fields, { eventId, ...(action === null ? {} : { orderId: action.orderId, action: action.kind }) });
      const ref = { tenantId: tenant, marketplace, eventId };

      const claim = await claimEvent(deps.pool, ref, createHash('sha256').update(body).digest('hex')).catch(
        (err: unknown) => {
          deps.log.warn({ err, ...fields }, 'dedupe claim failed');
          return null;
        },
      );
      if (claim === null)
        return problem(
          reply,
          {
            status: 503,
            reason: 'GATEWAY_UNAVAILABLE',
            title: 'Try again',
            detail: 'the gateway cannot record the event right now; nothing was applied',
          },
          fields,
        );
      switch (claim.kind) {
        case 'answered':
          deps.log.info(
            { ...fields, status: claim.answer.httpStatus },
            'marketplace webhook redelivered; original answer replayed',
          );
          return reply.code(claim.answer.httpStatus).header(REPLAYED_HEADER, 'true').send(claim.answer.body);
        case 'in_progress':
          return problem(
            reply,
            {
              status: 409,
              reason: 'EVENT_IN_PROGRESS',
              title: 'Already being processed',
              detail: `event "${eventId}" is being applied right now; retry shortly for its outcome`,
            },
            fields,
          );
        case 'body_mismatch':
          return problem(
            reply,
            {
              status: 422,
              reason: 'EVENT_ID_REUSED',
              title: 'Event id reused',
              detail: `event "${eventId}" was already received with a different body; send a new event id`,
            },
            fields,
          );
        case 'claimed':
          break;
      }

      const correlationId = `${marketplace}:${eventId}`;
      const answer =
        action === null
          ? textRefusal({ marketplace, eventId }, parsed.ok ? [] : parsed.issues)
          : answerFor(
              { marketplace, eventId, action, reservationId: reservationIdFor(marketplace, action.orderId) },
              await executeAction(deps.inventory, action, {
                token: await deps.tokenFor(tenant),
                correlationId,
                marketplace,
              }),
            );
      if (answer.kind === 'problem') {
        await releaseClaim(deps.pool, ref).catch((err: unknown) =>
          deps.log.error({ err, ...fields }, 'could not release the dedupe claim; it expires in 60 s'),
        );
        return problem(reply, answer.problem, fields);
      }
      await recordAnswer(deps.pool, ref, { httpStatus: answer.httpStatus, body: answer.body }).catch((err: unknown) =>
        // The core has the effect and is idempotent by reservation id: a redelivery gets the same answer from it.
        deps.log.warn({ err, ...fields }, 'could not record the answer; a redelivery will ask the core again'),
      );
      deps.log.info({ ...fields, outcome: answer.body.outcome, correlationId }, 'marketplace webhook applied');
      return reply.code(answer.httpStatus).send(answer.body);
    },
  );

  return app;
};
