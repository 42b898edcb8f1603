// Black Friday through the edges: the last unit requested at the same instant
// by a web shop (REST, e-commerce), a B2B portal (REST, B2B) and a marketplace
// (signed webhook). Exactly one wins; the others get clear refusals; the ledger
// holds exactly one reservation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../support/tokens.js';
import { Channel } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { DEVELOPMENT_JWT_SECRET } from '../../platform/config.js';
import { startEdge } from '../../gateways/rest/server.js';
import { loadEdgeSettings } from '../../gateways/rest/config.js';
import { buildWebhookGateway } from '../../gateways/webhooks/gateway.js';
import { createInventoryClient, marketplaceTokens } from '../../gateways/webhooks/core.js';
import { ensureMarketplaceSecret } from '../../gateways/webhooks/secrets.js';
import { adminClient, jumiaOrder, signedHeaders, stockUp } from '../support/webhooks.js';
import { startCoreProcess } from '../../loadtest/bench/processes.js';
import { createTestDatabase } from '../support/db.js';
import { silentLog, testNamespace } from '../support/readside.js';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { CoreHandle } from '../../loadtest/bench/processes.js';
import type { TestDatabase } from '../support/db.js';
import type { EdgeHandle } from '../../gateways/rest/server.js';
import type { AdminClient } from '../support/webhooks.js';

const TENANT = 'bf-edges';
const ROUNDS = 5;

type Answer = { via: 'ecommerce' | 'b2b' | 'marketplace'; status: number; body: Record<string, unknown> };

describe('Black Friday through the edges: REST e-commerce, REST B2B and a marketplace webhook', () => {
  let db: TestDatabase;
  let core: CoreHandle;
  let edge: EdgeHandle;
  let gateway: FastifyInstance;
  let gatewayUrl: string;
  let admin: AdminClient;
  let secret: string;
  let shopToken: string;
  let portalToken: string;

  beforeAll(async () => {
    db = await createTestDatabase('e2e_bf_edges', 4);
    core = await startCoreProcess({ DATABASE_URL: db.url, STOCKMIND_NAMESPACE: testNamespace('bf-edges') });
    edge = await startEdge({ jwtSecret: DEVELOPMENT_JWT_SECRET }, loadEdgeSettings({}), {
      coreUrl: core.url,
      port: 0,
      log: silentLog,
      now: Date.now,
    });
    gateway = buildWebhookGateway({
      pool: db.pool,
      inventory: createInventoryClient(core.url),
      tokenFor: marketplaceTokens(DEVELOPMENT_JWT_SECRET),
      log: silentLog,
    });
    await gateway.listen({ port: 0, host: '127.0.0.1' });
    gatewayUrl = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
    admin = await adminClient(core.url, TENANT);
    ({ secret } = await ensureMarketplaceSecret(db.pool, TENANT, 'jumia', false));
    shopToken = await tokenFor(TENANT, { sub: 'web-shop', roles: ['channel_service'], channels: ['ECOMMERCE'] });
    portalToken = await tokenFor(TENANT, { sub: 'b2b-portal', roles: ['channel_service'], channels: ['B2B'] });
  });

  afterAll(async () => {
    await gateway?.close();
    await edge?.close();
    await core?.stop();
    await db?.drop();
  });

  it('sells the last unit once, round after round, and tells the two losers why', async () => {
    const winners: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const sku = `SKU-BF-${round}`;
      await stockUp(admin, sku, 'W3', 1, `bf-edges-rcv-${round}`);
      const rest = (via: 'ecommerce' | 'b2b', token: string) => {
        const body = JSON.stringify({
          channel: via === 'ecommerce' ? 'ECOMMERCE' : 'B2B',
          lines: [{ sku, location: 'W3', quantity: 1 }],
        });
        return () =>
          fetch(`${edge.url}/v1/reservations`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${token}`,
              'content-type': 'application/json',
              'idempotency-key': `bf-${via}-${round}`,
            },
            body,
          });
      };
      const webhookBody = JSON.stringify(
        jumiaOrder({
          eventId: `bf-evt-${round}`,
          orderNumber: `JM-BF-${round}`,
          event: 'order.created',
          warehouse: 'W3',
          items: [{ sku, qty: 1 }],
        }),
      );
      const calls: [Answer['via'], () => Promise<Response>][] = [
        ['ecommerce', rest('ecommerce', shopToken)],
        ['b2b', rest('b2b', portalToken)],
        [
          'marketplace',
          () =>
            fetch(`${gatewayUrl}/v1/marketplaces/${TENANT}/jumia/orders`, {
              method: 'POST',
              headers: signedHeaders(secret, webhookBody),
              body: webhookBody,
            }),
        ],
      ];
      // Everything is built before the race; the three requests leave together.
      const answers: Answer[] = await Promise.all(
        calls.map(async ([via, send]) => {
          const res = await send();
          return { via, status: res.status, body: (await res.json()) as Record<string, unknown> };
        }),
      );

      const won = answers.filter((a) => (a.via === 'marketplace' ? a.body.outcome === 'accepted' : a.status === 201));
      expect(won, JSON.stringify(answers)).toHaveLength(1);
      winners.push(won[0]?.via ?? '');
      for (const lost of answers.filter((a) => a !== won[0])) {
        if (lost.via === 'marketplace') {
          expect(lost.status).toBe(200);
          expect(lost.body).toMatchObject({
            outcome: 'refused',
            refusal: { reason: 'INSUFFICIENT_STOCK', details: { sku, requested: '1', available: '0' } },
          });
        } else {
          expect(lost.status).toBe(409);
          expect(lost.body).toMatchObject({
            type: 'https://stockmind.io/problems/insufficient-stock',
            sku,
            location: 'W3',
            requested: 1,
            available: 0,
          });
        }
      }
      const level = (
        await admin.client.queryStock({ keys: [{ sku, locationId: 'W3' }], consistency: 2 }, { headers: admin.headers })
      ).levels[0];
      expect({ onHand: level?.onHand, reserved: level?.reserved, available: level?.available }).toEqual({
        onHand: 1n,
        reserved: 1n,
        available: 0n,
      });
      const mkt = await admin.client
        .getReservation({ reservationId: `jumia:JM-BF-${round}` }, { headers: admin.headers })
        .catch(() => null);
      expect(mkt !== null).toBe(winners.at(-1) === 'marketplace');
      if (mkt !== null) expect(mkt.reservation?.channel).toBe(Channel.MARKETPLACE);
    }
    expect(winners).toHaveLength(ROUNDS);
  });
});
