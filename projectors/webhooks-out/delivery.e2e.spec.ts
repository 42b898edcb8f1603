// Partner webhooks end to end: a real core process writes events, the relay
// publishes them, webhooks-out delivers them over HTTP to a partner server in
// this spec; subscriptions and deliveries go through the REST plugin.
import http from 'node:http';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../../test/support/tokens.js';
import { cachingVerifier } from '../../platform/auth/tokens.js';
import { DEVELOPMENT_JWT_SECRET, loadConfig } from '../../platform/config.js';
import { prepareDatabase } from '../../platform/postgres/migrate.js';
import { CONSUMERS_SCHEMA } from '../shared/schema.js';
import { WEBHOOKS_OUT_SCHEMA } from './schema.js';
import { run as runRelay } from '../relay/main.js';
import { startWebhooksOut } from './projector.js';
import { verifyPartnerSignature } from './signature.js';
import { DELIVERY_FAILED } from './failedEvents.js';
import { subscriptionRoutes } from './http.js';
import { startCoreProcess } from '../../loadtest/bench/processes.js';
import { createPool } from '../../platform/postgres/pool.js';
import { cleanupNamespace, readStream, sharedNats, silentLog, testNamespace } from '../../test/support/readside.js';
import { startPrivatePostgres } from '../../test/support/servers.js';
import { startCliProcess } from '../../test/support/cli.js';
import { adminClient, stockUp } from '../../test/support/webhooks.js';
import { defined, eventually } from '../../test/support/wait.js';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CoreHandle } from '../../loadtest/bench/processes.js';
import type pg from 'pg';
import type { PrivatePostgres } from '../../test/support/servers.js';
import type { Component } from '../../platform/process.js';
import type { AdminClient } from '../../test/support/webhooks.js';
import type { WebhooksOut } from './projector.js';

const TENANT = 'partner-shop';
const NAMESPACE = testNamespace('wh-out');
const RECEIVED = 'stockmind.stock.stock_received.v1';

type Hit = { path: string; body: string; signature: string; eventId: string; attempt: string; at: number };

/** A delivery crosses the relay, JetStream, the projector and HTTP: patient on a loaded machine. */
const soon = <T>(check: () => Promise<T>): Promise<T> => eventually(check, 20_000, 100);

describe('partner webhooks out (real core, relay, JetStream, partner HTTP server)', () => {
  let pgServer: PrivatePostgres;
  let databaseUrl: string;
  let pool: pg.Pool;
  let core: CoreHandle;
  let relay: Component;
  let nc: NatsConnection;
  let out: WebhooksOut;
  let api: FastifyInstance;
  let apiUrl: string;
  let admin: AdminClient;
  let adminToken: string;
  const hits: Hit[] = [];
  const hitOn = (path: string) => hits.find((h) => h.path === path);
  // path → how to answer the n-th request on that path (0-based); default 200
  const behaviour = new Map<string, (n: number) => number>();
  const partner = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      const n = hits.filter((h) => h.path === path).length;
      hits.push({
        path,
        body: Buffer.concat(chunks).toString('utf8'),
        signature: String(req.headers['x-stockmind-signature'] ?? ''),
        eventId: String(req.headers['x-stockmind-event-id'] ?? ''),
        attempt: String(req.headers['x-stockmind-attempt'] ?? ''),
        at: Date.now(),
      });
      res.writeHead(behaviour.get(path)?.(n) ?? 200).end();
    });
  });
  let partnerUrl = '';

  const call = async (method: string, path: string, body?: unknown, token = adminToken) => {
    const res = await fetch(`${apiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return {
      status: res.status,
      body: (text === '' ? null : JSON.parse(text)) as Record<string, unknown> & {
        deliveries?: Record<string, unknown>[];
      },
    };
  };
  const subscribe = async (path: string, eventTypes: string[]) => {
    const res = await call('POST', '/v1/webhooks/subscriptions', {
      url: `${partnerUrl}${path}`,
      eventTypes,
      description: `spec ${path}`,
    });
    expect(res.status).toBe(201);
    return res.body as { id: string; secret: string; url: string; eventTypes: string[] };
  };
  const deliveries = async (id: string) =>
    (await call('GET', `/v1/webhooks/subscriptions/${id}/deliveries`)).body.deliveries ?? [];
  let movement = 0;
  const receive = (sku: string, qty = 1) => stockUp(admin, sku, 'W1', qty, `rcv-${++movement}`);

  beforeAll(async () => {
    // A private Postgres: the relay follows commit order, so any long transaction on a shared
    // server (a bulk load next door) would hold every event back.
    pgServer = await startPrivatePostgres();
    databaseUrl = pgServer.serverUrl.replace(/\/postgres$/, '/stockmind_wh_out');
    const env = { DATABASE_URL: databaseUrl, STOCKMIND_NAMESPACE: NAMESPACE };
    core = await startCoreProcess(env);
    // Wired by hand below (not through its main.ts), so its tables are applied here.
    await prepareDatabase(databaseUrl, [CONSUMERS_SCHEMA, WEBHOOKS_OUT_SCHEMA]);
    pool = createPool({ databaseUrl, max: 6, applicationName: 'spec-wh-out' });
    const config = loadConfig({ ...process.env, NODE_ENV: 'test', ...env });
    relay = await runRelay(config, silentLog);
    nc = await sharedNats('spec-wh-out');
    out = await startWebhooksOut({
      nc,
      pool: pool,
      namespace: NAMESPACE,
      settings: {
        retryScheduleMs: [300, 300, 300, 300, 300],
        allowPrivateTargets: true,
        timeoutMs: 1_000,
        pollMs: 100,
      },
      holder: 'spec',
      log: silentLog,
    });
    api = Fastify();
    await api.register(
      subscriptionRoutes({
        pool: pool,
        verify: cachingVerifier(DEVELOPMENT_JWT_SECRET),
        allowPrivateTargets: true,
        log: silentLog,
      }),
    );
    await api.listen({ port: 0, host: '127.0.0.1' });
    apiUrl = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
    await new Promise<void>((r) => partner.listen(0, '127.0.0.1', r));
    partnerUrl = `http://127.0.0.1:${(partner.address() as AddressInfo).port}`;
    admin = await adminClient(core.url, TENANT);
    adminToken = await tokenFor(TENANT, { sub: 'ops' }, { ttlSeconds: 3600 });
  });

  afterAll(async () => {
    await api?.close();
    await out?.stop();
    await relay?.close();
    await core?.stop();
    await new Promise<void>((r) => partner.close(() => r()));
    await cleanupNamespace(NAMESPACE, { nc });
    await nc?.drain();
    await pool?.end();
    await pgServer?.destroy();
  });

  it('delivers each matching event once, as the envelope JSON, signed with the subscription secret', async () => {
    const sub = await subscribe('/ok', [RECEIVED]);
    await receive('SKU-OK', 3);
    const hit = await soon(async () => defined(hitOn('/ok'), 'a delivery to /ok'));
    expect(verifyPartnerSignature(sub.secret, hit.body, hit.signature, Math.floor(Date.now() / 1000))).toBe(true);
    expect(verifyPartnerSignature('whsec_wrong', hit.body, hit.signature, Math.floor(Date.now() / 1000))).toBe(false);
    const envelope = JSON.parse(hit.body) as {
      eventId: string;
      eventType: string;
      tenantId: string;
      stream: { sku: string };
      payload: { quantity: number };
    };
    expect(envelope).toMatchObject({
      eventType: RECEIVED,
      tenantId: TENANT,
      stream: { sku: 'SKU-OK' },
      payload: { quantity: 3 },
    });
    expect(hit.eventId).toBe(envelope.eventId);
    // Reserving creates other event types: not subscribed, not delivered. Releasing the hold is the
    // marker: once its event reached a subscription of its own, the reservation's events were matched.
    await subscribe('/ok-marker', ['stockmind.reservations.reservation_released.v1']);
    await admin.client.reserveStock(
      { reservationId: 'r-ok', channel: 1, lines: [{ sku: 'SKU-OK', locationId: 'W1', quantity: 1n }] },
      { headers: admin.headers },
    );
    await admin.client.releaseStock({ reservationId: 'r-ok', reason: 'marker' }, { headers: admin.headers });
    await soon(async () => defined(hitOn('/ok-marker'), 'the marker delivery'));
    expect(hits.filter((h) => h.path === '/ok')).toHaveLength(1);
    expect(await deliveries(sub.id)).toHaveLength(1);
    const [d] = await deliveries(sub.id);
    expect(d).toMatchObject({
      eventId: envelope.eventId,
      eventType: RECEIVED,
      status: 'delivered',
      attempts: [{ attempt: 1, statusCode: 200, outcome: 'delivered' }],
    });
  });

  it('records one delivery with four attempts when the partner fails three times, then succeeds', async () => {
    behaviour.set('/flaky', (n) => (n < 3 ? 500 : 200));
    const sub = await subscribe('/flaky', [RECEIVED]);
    await receive('SKU-FLAKY');
    const list = await soon(async () => {
      const l = await deliveries(sub.id);
      return defined(l[0]?.status === 'delivered' ? l : undefined, 'the flaky delivery to succeed');
    });
    expect(list).toHaveLength(1);
    const attempts = (list[0]?.attempts ?? []) as { attempt: number; statusCode: number; outcome: string }[];
    expect(attempts.map((a) => [a.attempt, a.statusCode, a.outcome])).toEqual([
      [1, 500, 'retry'],
      [2, 500, 'retry'],
      [3, 500, 'retry'],
      [4, 200, 'delivered'],
    ]);
    const flaky = hits.filter((h) => h.path === '/flaky');
    expect(flaky.map((h) => h.attempt)).toEqual(['1', '2', '3', '4']);
    expect(new Set(flaky.map((h) => h.body)).size).toBe(1);
    // Retries wait for the schedule (300 ms here).
    for (let i = 1; i < flaky.length; i++)
      expect((flaky[i]?.at ?? 0) - (flaky[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(250);
  });

  it('dead-letters after the schedule and records a delivery_failed event that reaches JetStream and alert subscriptions', async () => {
    behaviour.set('/down', () => 503);
    const alerts = await subscribe('/alerts', [DELIVERY_FAILED]);
    const sub = await subscribe('/down', [RECEIVED]);
    await receive('SKU-DOWN');
    const [dead] = await soon(async () => {
      const l = await deliveries(sub.id);
      return defined(l[0]?.status === 'dead' ? l : undefined, 'the delivery to be dead-lettered');
    });
    expect((dead?.attempts as unknown[]).length).toBe(6);
    const alert = await soon(async () => defined(hitOn('/alerts'), 'the delivery_failed alert'));
    const failed = JSON.parse(alert.body) as { eventType: string; tenantId: string; payload: Record<string, unknown> };
    expect(failed).toMatchObject({
      eventType: DELIVERY_FAILED,
      tenantId: TENANT,
      payload: {
        subscriptionId: sub.id,
        deliveryId: dead?.id,
        eventId: dead?.eventId,
        attempts: 6,
        lastStatusCode: 503,
      },
    });
    expect(verifyPartnerSignature(alerts.secret, alert.body, alert.signature, Math.floor(Date.now() / 1000))).toBe(
      true,
    );
    const onStream = (await readStream(nc, NAMESPACE)).filter((m) => m.envelope.eventType === DELIVERY_FAILED);
    expect(onStream.map((m) => m.subject)).toEqual([`${NAMESPACE}.evt.${TENANT}.webhooks.delivery_failed`]);
    // The failing subscription itself is not told about its own failure.
    expect(hits.filter((h) => h.path === '/down')).toHaveLength(6);
  });

  it('does not retry a 4xx answer (other than 408 / 429): dead after one attempt', async () => {
    behaviour.set('/gone', () => 410);
    const sub = await subscribe('/gone', [RECEIVED]);
    await receive('SKU-GONE');
    const [d] = await soon(async () => {
      const l = await deliveries(sub.id);
      return defined(l[0]?.status === 'dead' ? l : undefined, 'the 410 delivery to be dead');
    });
    expect((d?.attempts as { statusCode: number }[]).map((a) => a.statusCode)).toEqual([410]);
  });

  it('keeps order per subscription: the next event waits until the previous one was delivered', async () => {
    behaviour.set('/ordered', (n) => (n < 2 ? 500 : 200));
    const sub = await subscribe('/ordered', [RECEIVED]);
    for (const sku of ['SKU-O1', 'SKU-O2', 'SKU-O3']) await receive(sku);
    await soon(async () => {
      const l = await deliveries(sub.id);
      return defined(
        l.length === 3 && l.every((d) => d.status === 'delivered') ? l : undefined,
        'three ordered deliveries',
      );
    });
    const seen = hits
      .filter((h) => h.path === '/ordered')
      .map((h) => (JSON.parse(h.body) as { stream: { sku: string } }).stream.sku);
    expect(seen).toEqual(['SKU-O1', 'SKU-O1', 'SKU-O1', 'SKU-O2', 'SKU-O3']);
  });

  it('manages subscriptions for admins of the tenant only, and refuses loopback URLs unless allowed', async () => {
    expect((await call('GET', '/v1/webhooks/subscriptions', undefined, 'not-a-token')).status).toBe(401);
    const staff = await tokenFor(TENANT, { sub: 'clerk', roles: ['store_staff'], locations: ['W1'] });
    expect((await call('GET', '/v1/webhooks/subscriptions', undefined, staff)).status).toBe(403);
    const bad = await call('POST', '/v1/webhooks/subscriptions', {
      url: `${partnerUrl}/x`,
      eventTypes: ['stock changed'],
    });
    expect(bad.status).toBe(400);
    expect(String(bad.body.detail)).toMatch(/eventTypes\.0/);

    const sub = await subscribe('/managed', ['stockmind.stock.*']);
    expect(sub).not.toHaveProperty('secret', undefined);
    const listed = (await call('GET', '/v1/webhooks/subscriptions')).body.subscriptions as {
      id: string;
      secret?: string;
    }[];
    expect(listed.map((s) => s.id)).toContain(sub.id);
    expect(listed.every((s) => s.secret === undefined)).toBe(true);
    const other = await tokenFor('other-tenant', { sub: 'ops' });
    expect((await call('GET', `/v1/webhooks/subscriptions/${sub.id}`, undefined, other)).status).toBe(404);
    expect((await call('DELETE', `/v1/webhooks/subscriptions/${sub.id}`, undefined, other)).status).toBe(404);
    expect((await call('DELETE', `/v1/webhooks/subscriptions/${sub.id}`)).status).toBe(204);
    expect((await call('GET', `/v1/webhooks/subscriptions/${sub.id}`)).status).toBe(404);

    const strict = Fastify();
    await strict.register(
      subscriptionRoutes({
        pool: pool,
        verify: cachingVerifier(DEVELOPMENT_JWT_SECRET),
        allowPrivateTargets: false,
        log: silentLog,
      }),
    );
    await strict.listen({ port: 0, host: '127.0.0.1' });
    try {
      const strictUrl = `http://127.0.0.1:${(strict.server.address() as AddressInfo).port}`;
      for (const url of [`${partnerUrl}/hook`, 'http://localhost:6379/', 'http://169.254.169.254/latest/meta-data']) {
        const res = await fetch(`${strictUrl}/v1/webhooks/subscriptions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ url, eventTypes: ['*'] }),
        });
        expect(res.status, url).toBe(422);
        expect(((await res.json()) as { detail: string }).detail).toMatch(/loopback, private or reserved/);
      }
    } finally {
      await strict.close();
    }
  });

  it('runs alone as `stockmind project webhooks-out`', async () => {
    const ns = testNamespace('wh-out-cli');
    const p = await startCliProcess(
      ['project', 'webhooks-out'],
      { DATABASE_URL: databaseUrl, STOCKMIND_NAMESPACE: ns, STOCKMIND_WEBHOOK_RETRY_SCHEDULE: '1s,2s' },
      /partner webhooks projector started/,
    );
    expect(p.output()).toMatch(/"retryScheduleMs":\[1000,2000\]/);
    expect(await p.stop()).toBe(0);
    await cleanupNamespace(ns, { nc });
  });
});
