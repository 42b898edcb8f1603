// The marketplace gateway as a user meets it: `stockmind webhooks` in front of a
// real core process, signed requests over HTTP, secrets from the CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReservationStatus } from '../../gen/stockmind/inventory/v1/reservations_pb.js';
import { freePort, startCoreProcess } from '../../loadtest/bench/processes.js';
import { createTestDatabase } from '../../test/support/db.js';
import { testNamespace } from '../../test/support/readside.js';
import { runCli, startCliProcess } from '../../test/support/cli.js';
import { adminClient, amazonOrder, jumiaOrder, signedHeaders, stockUp } from '../../test/support/webhooks.js';
import type { CoreHandle } from '../../loadtest/bench/processes.js';
import type { TestDatabase } from '../../test/support/db.js';
import type { CliProcess } from '../../test/support/cli.js';
import type { AdminClient } from '../../test/support/webhooks.js';

const TENANT = 'market-shop';
const NAMESPACE = testNamespace('wh-gateway');

describe('marketplace webhook gateway (stockmind webhooks, real core)', () => {
  let db: TestDatabase;
  let core: CoreHandle;
  let gateway: CliProcess;
  let base: string;
  let admin: AdminClient;
  const secrets: Record<string, string> = {};

  const post = async (
    marketplace: string,
    body: unknown,
    o: { secret?: string; at?: number; tenant?: string; raw?: string } = {},
  ) => {
    const text = o.raw ?? JSON.stringify(body);
    const res = await fetch(`${base}/v1/marketplaces/${o.tenant ?? TENANT}/${marketplace}/orders`, {
      method: 'POST',
      headers: signedHeaders(o.secret ?? secrets[marketplace] ?? 'none', text, o.at),
      body: text,
    });
    return {
      status: res.status,
      replayed: res.headers.get('stockmind-replayed'),
      retryAfter: res.headers.get('retry-after'),
      body: (await res.json()) as Record<string, unknown>,
    };
  };
  const reservation = async (id: string) =>
    (await admin.client.getReservation({ reservationId: id }, { headers: admin.headers })).reservation;
  const available = async (sku: string, locationId: string) =>
    Number(
      (await admin.client.queryStock({ keys: [{ sku, locationId }], consistency: 2 }, { headers: admin.headers }))
        .levels[0]?.available ?? -1n,
    );

  beforeAll(async () => {
    db = await createTestDatabase('wh_gateway', 2);
    const env = { DATABASE_URL: db.url, STOCKMIND_NAMESPACE: NAMESPACE };
    core = await startCoreProcess(env);
    for (const m of ['amazon', 'jumia']) {
      const r = await runCli(['webhooks', 'secret', '--tenant', TENANT, '--marketplace', m], env);
      expect(r.code).toBe(0);
      secrets[m] = r.stdout.trim().split('\n').at(-1) ?? '';
    }
    const port = await freePort();
    gateway = await startCliProcess(
      ['webhooks'],
      { ...env, CORE_URL: core.url, WEBHOOK_PORT: String(port) },
      /marketplace webhooks listening/,
    );
    base = `http://127.0.0.1:${port}`;
    admin = await adminClient(core.url, TENANT);
    await stockUp(admin, 'SKU-1', 'W1', 5, 'rcv-1');
  });

  afterAll(async () => {
    await gateway?.stop();
    await core?.stop();
    await db?.drop();
  });

  it('prints the same secret again, and a new one with --rotate', async () => {
    const env = { DATABASE_URL: db.url };
    const again = await runCli(['webhooks', 'secret', '--tenant', TENANT, '--marketplace', 'amazon'], env);
    expect(again.stdout.trim().split('\n').at(-1)).toBe(secrets.amazon);
    const rotated = await runCli(
      ['webhooks', 'secret', '--tenant', TENANT, '--marketplace', 'amazon', '--rotate'],
      env,
    );
    const fresh = rotated.stdout.trim().split('\n').at(-1) ?? '';
    expect(fresh).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(fresh).not.toBe(secrets.amazon);
    const body = amazonOrder({ notificationId: 'amz-n-rot', orderId: '113-ROT', status: 'Shipped' });
    expect((await post('amazon', body)).status).toBe(401);
    secrets.amazon = fresh;
    expect((await post('amazon', body)).body).toMatchObject({ outcome: 'ignored' });
    const bad = await runCli(['webhooks', 'secret', '--tenant', TENANT, '--marketplace', 'ebay'], env);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/--marketplace must be one of amazon, jumia/);
  });

  it('amazon: Pending reserves for the marketplace, Unshipped confirms, Canceled releases', async () => {
    const created = await post(
      'amazon',
      amazonOrder({
        notificationId: 'amz-n-1',
        orderId: '113-0001',
        status: 'Pending',
        node: 'W1',
        items: [{ sku: 'SKU-1', qty: 2 }],
      }),
    );
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      outcome: 'accepted',
      action: 'reserve',
      reservationId: 'amazon:113-0001',
      reservation: { status: 'PENDING', lines: [{ sku: 'SKU-1', locationId: 'W1', quantity: 2 }] },
    });
    const r = await reservation('amazon:113-0001');
    expect(r?.channel).toBe(4); // CHANNEL_MARKETPLACE
    expect(r?.orderRef).toBe('113-0001');
    expect(await available('SKU-1', 'W1')).toBe(3);

    const paid = await post(
      'amazon',
      amazonOrder({ notificationId: 'amz-n-2', orderId: '113-0001', status: 'Unshipped' }),
    );
    expect(paid.body).toMatchObject({ outcome: 'accepted', action: 'confirm', reservation: { status: 'CONFIRMED' } });

    const cancelled = await post(
      'amazon',
      amazonOrder({ notificationId: 'amz-n-3', orderId: '113-0001', status: 'Canceled' }),
    );
    expect(cancelled.body).toMatchObject({
      outcome: 'accepted',
      action: 'release',
      reservation: { status: 'RELEASED' },
    });
    expect((await reservation('amazon:113-0001'))?.status).toBe(ReservationStatus.RELEASED);
    expect(await available('SKU-1', 'W1')).toBe(5);
  });

  it('jumia: order.created reserves, order.paid confirms, order.cancelled releases', async () => {
    const created = await post(
      'jumia',
      jumiaOrder({
        eventId: 'jm-e-1',
        orderNumber: 'JM-1',
        event: 'order.created',
        warehouse: 'W1',
        items: [{ sku: 'SKU-1', qty: 1 }],
      }),
    );
    expect(created.body).toMatchObject({
      outcome: 'accepted',
      action: 'reserve',
      reservationId: 'jumia:JM-1',
      reservation: { status: 'PENDING' },
    });
    expect(await available('SKU-1', 'W1')).toBe(4);
    const paid = await post('jumia', jumiaOrder({ eventId: 'jm-e-2', orderNumber: 'JM-1', event: 'order.paid' }));
    expect(paid.body).toMatchObject({ outcome: 'accepted', action: 'confirm', reservation: { status: 'CONFIRMED' } });
    const cancelled = await post(
      'jumia',
      jumiaOrder({ eventId: 'jm-e-3', orderNumber: 'JM-1', event: 'order.cancelled', reason: 'buyer changed mind' }),
    );
    expect(cancelled.body).toMatchObject({
      outcome: 'accepted',
      action: 'release',
      reservation: { status: 'RELEASED' },
    });
    expect(await available('SKU-1', 'W1')).toBe(5);
  });

  it('reports a refusal (not enough stock) in a 200 body, so the marketplace stops retrying; nothing is reserved', async () => {
    const res = await post(
      'jumia',
      jumiaOrder({
        eventId: 'jm-e-big',
        orderNumber: 'JM-BIG',
        event: 'order.created',
        warehouse: 'W1',
        items: [{ sku: 'SKU-1', qty: 50 }],
      }),
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      outcome: 'refused',
      refusal: { reason: 'INSUFFICIENT_STOCK', details: { requested: '50', available: '5' } },
    });
    expect(await available('SKU-1', 'W1')).toBe(5);
  });

  it('answers a redelivered event with the original outcome and applies it once', async () => {
    const body = jumiaOrder({
      eventId: 'jm-e-dup',
      orderNumber: 'JM-DUP',
      event: 'order.created',
      warehouse: 'W1',
      items: [{ sku: 'SKU-1', qty: 1 }],
    });
    const first = await post('jumia', body);
    const again = await post('jumia', body, { at: Math.floor(Date.now() / 1000) + 1 });
    expect(first.replayed).toBeNull();
    expect(again.status).toBe(first.status);
    expect(again.replayed).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await available('SKU-1', 'W1')).toBe(4);
    // The same event id with another body is not a redelivery.
    const changed = await post('jumia', {
      ...body,
      order: { ...body.order, items: [{ seller_sku: 'SKU-1', qty: 2 }] },
    });
    expect(changed.status).toBe(422);
    expect(changed.body.reason).toBe('EVENT_ID_REUSED');
    expect(await available('SKU-1', 'W1')).toBe(4);
  });

  it('applies an event delivered twice at the same instant once: the other answer is the replay or "in progress"', async () => {
    const body = amazonOrder({
      notificationId: 'amz-n-twice',
      orderId: '113-TWICE',
      status: 'Pending',
      node: 'W1',
      items: [{ sku: 'SKU-1', qty: 1 }],
    });
    const before = await available('SKU-1', 'W1');
    const answers = await Promise.all([post('amazon', body), post('amazon', body)]);
    const applied = answers.filter((a) => a.status === 200 && a.replayed === null);
    expect(applied).toHaveLength(1);
    const other = answers.find((a) => a !== applied[0]);
    if (other?.status === 409) expect(other.body.reason).toBe('EVENT_IN_PROGRESS');
    else expect(other).toMatchObject({ status: 200, replayed: 'true', body: applied[0]?.body });
    expect(await available('SKU-1', 'W1')).toBe(before - 1);
  });

  it('refuses a tampered body, a wrong secret and an expired timestamp with 401, applying nothing', async () => {
    const body = jumiaOrder({
      eventId: 'jm-e-sig',
      orderNumber: 'JM-SIG',
      event: 'order.created',
      warehouse: 'W1',
      items: [{ sku: 'SKU-1', qty: 1 }],
    });
    const text = JSON.stringify(body);
    const headers = signedHeaders(secrets.jumia ?? '', text);
    const tampered = await fetch(`${base}/v1/marketplaces/${TENANT}/jumia/orders`, {
      method: 'POST',
      headers,
      body: text.replace('"qty":1', '"qty":3'),
    });
    expect(tampered.status).toBe(401);
    expect(((await tampered.json()) as { reason: string }).reason).toBe('SIGNATURE_INVALID');
    expect((await post('jumia', body, { secret: secrets.amazon ?? '' })).body.reason).toBe('SIGNATURE_INVALID');
    const expired = await post('jumia', body, { at: Math.floor(Date.now() / 1000) - 600 });
    expect(expired.status).toBe(401);
    expect(expired.body.reason).toBe('TIMESTAMP_OUT_OF_TOLERANCE');
    // Another tenant's path with this tenant's signature: the path is trusted only after its own secret verified.
    expect((await post('jumia', body, { tenant: 'other-shop' })).status).toBe(401);
    expect(await reservation('jumia:JM-SIG').catch(() => null)).toBeNull();
    // Nothing was recorded for the event either: the genuine delivery goes through.
    expect((await post('jumia', body)).body).toMatchObject({ outcome: 'accepted' });
  });

  it('answers 404 for an unknown marketplace and 400 / 422 with the reason for a malformed body', async () => {
    const unknown = await post('ebay', { anything: true }, { secret: 'x' });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ reason: 'UNKNOWN_MARKETPLACE' });
    const notJson = await post('jumia', null, { raw: '{"event_id": "x", ' });
    expect(notJson.status).toBe(400);
    expect(notJson.body.reason).toBe('MALFORMED_JSON');
    const wrongShape = await post(
      'jumia',
      jumiaOrder({
        eventId: 'jm-e-bad',
        orderNumber: 'JM-BAD',
        event: 'order.created',
        items: [{ sku: 'SKU-1', qty: 1 }],
      }),
    );
    expect(wrongShape.status).toBe(422);
    expect(wrongShape.body).toMatchObject({ reason: 'INVALID_NOTIFICATION', issues: [{ path: 'order.warehouse' }] });
    expect(await reservation('jumia:JM-BAD').catch(() => null)).toBeNull();
  });

  it('answers 503 while the core is down without recording the event, and applies the retry once it is back', async () => {
    const body = amazonOrder({
      notificationId: 'amz-n-down',
      orderId: '113-DOWN',
      status: 'Pending',
      node: 'W1',
      items: [{ sku: 'SKU-1', qty: 1 }],
    });
    const port = core.port;
    await core.stop();
    const down = await post('amazon', body);
    expect(down.status).toBe(503);
    expect(down.retryAfter).toBe('5');
    expect(down.body.reason).toBe('CORE_UNAVAILABLE');
    core = await startCoreProcess({ DATABASE_URL: db.url, STOCKMIND_NAMESPACE: NAMESPACE, CORE_PORT: String(port) });
    admin = await adminClient(core.url, TENANT);
    const retried = await post('amazon', body);
    expect(retried.status).toBe(200);
    expect(retried.replayed).toBeNull();
    expect(retried.body).toMatchObject({ outcome: 'accepted', reservation: { status: 'PENDING' } });
  });
});
