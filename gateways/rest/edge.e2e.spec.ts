// The REST edge through real HTTP, in front of a real `stockmind start`
// process (core, relay, projectors, edge) with its own database and namespace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../../test/support/tokens.js';
import { loadEdgeSettings } from './config.js';
import { startEdge } from './server.js';
import { freePort } from '../../loadtest/bench/processes.js';
import { silentLog } from '../../test/support/readside.js';
import { LocationKind } from '../../gen/stockmind/inventory/v1/catalog_pb.js';
import { openSse, startStack, stockUp } from '../../test/support/edge.js';
import { eventually } from '../../test/support/wait.js';
import { loggedAfter } from '../../test/support/log.js';
import type { Stack } from '../../test/support/edge.js';
import type { EdgeHandle } from './server.js';

const T = 'rest-tenant';
let stack: Stack;
let admin: string;
let url: string;

beforeAll(async () => {
  // At debug level the core logs each registered watcher, the signal a location watch gives.
  stack = await startStack('rest', { LOG_LEVEL: 'debug' });
  url = stack.edgeUrl;
  admin = await tokenFor(T, { sub: 'back-office' });
});

afterAll(async () => {
  await stack?.stop();
});

type Answer = { status: number; headers: Headers; body: Record<string, unknown> };

const call = async (
  method: string,
  path: string,
  o: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> => {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, {
    method,
    headers,
    ...(o.body === undefined ? {} : { body: typeof o.body === 'string' ? o.body : JSON.stringify(o.body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
};

const expectProblem = (a: Answer, status: number, slug: string) => {
  expect(a.status).toBe(status);
  expect(a.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(a.body).toMatchObject({
    type: `https://stockmind.io/problems/${slug}`,
    status,
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(a.body.correlationId).toBe(a.headers.get('correlation-id'));
};

const reserve = (token: string, key: string | undefined, body: unknown) =>
  call('POST', '/v1/reservations', { token, body, headers: key === undefined ? {} : { 'idempotency-key': key } });

describe('authentication and roles', () => {
  it('answers 401 problem+json without a token and with a token signed by another secret', async () => {
    const none = await call('GET', '/v1/availability/SKU-A?location=W1');
    expectProblem(none, 401, 'unauthenticated');
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const forged = await tokenFor(T, {}, { secret: 'another-secret-that-is-at-least-32-characters' });
    expectProblem(await call('GET', '/v1/availability/SKU-A?location=W1', { token: forged }), 401, 'unauthenticated');
  });

  it('answers 403 when an auditor reserves, and when a channel service without CHANNEL_B2B takes a B2B hold', async () => {
    const auditor = await tokenFor(T, { roles: ['auditor'] });
    const denied = await reserve(auditor, 'auditor-1', {
      channel: 'ECOMMERCE',
      lines: [{ sku: 'SKU-A', location: 'W1', quantity: 1 }],
    });
    expectProblem(denied, 403, 'forbidden');
    expect(denied.body.reason).toBe('ROLE_NOT_ALLOWED');
    const shop = await tokenFor(T, { roles: ['channel_service'], channels: ['ECOMMERCE'] });
    const b2b = await reserve(shop, 'shop-b2b-1', {
      channel: 'B2B',
      lines: [{ sku: 'SKU-A', location: 'W1', quantity: 1 }],
    });
    expectProblem(b2b, 403, 'forbidden');
    expect(b2b.body.reason).toBe('OUT_OF_SCOPE');
    // An auditor may still read.
    expect((await call('GET', '/v1/availability/SKU-A?location=W1', { token: auditor })).status).toBe(200);
  });
});

describe('availability', () => {
  it('labels availability as a shop shows it: In Stock, Only N left, Out of Stock', async () => {
    await stockUp(stack.grpc, admin, 'SKU-L', 'W1', 8, 'recv-l');
    await stockUp(stack.grpc, admin, 'SKU-F', 'W1', 3, 'recv-f');
    const { body } = await call('POST', '/v1/availability:batch', {
      token: admin,
      body: {
        items: [
          { sku: 'SKU-L', location: 'W1' },
          { sku: 'SKU-F', location: 'W1' },
          { sku: 'SKU-NEVER', location: 'W1' },
        ],
      },
    });
    const items = body.items as Record<string, unknown>[];
    expect(items.map((i) => [i.sku, i.available, i.status, i.label])).toEqual([
      ['SKU-L', 8, 'IN_STOCK', 'In Stock'],
      ['SKU-F', 3, 'LOW_STOCK', 'Only 3 left'],
      ['SKU-NEVER', 0, 'OUT_OF_STOCK', 'Out of Stock'],
    ]);
    expect(items[0]).toMatchObject({ location: 'W1', stale: false, asOf: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });

  it('answers 304 to If-None-Match while nothing changed, and a new ETag once a reservation changed availability', async () => {
    await stockUp(stack.grpc, admin, 'SKU-E', 'W1', 20, 'recv-e');
    const first = await call('GET', '/v1/availability/SKU-E?location=W1', { token: admin });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ available: 20 });
    const etag = first.headers.get('etag') ?? '';
    expect(etag).toMatch(/^W\/".+"$/);
    expect(first.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
    const again = await fetch(`${url}/v1/availability/SKU-E?location=W1`, {
      headers: { authorization: `Bearer ${admin}`, 'if-none-match': etag },
    });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');

    expect(
      (await reserve(admin, 'etag-1', { channel: 'ECOMMERCE', lines: [{ sku: 'SKU-E', location: 'W1', quantity: 5 }] }))
        .status,
    ).toBe(201);
    // The availability view follows the ledger within moments.
    const changed = await eventually(
      async () => {
        const res = await fetch(`${url}/v1/availability/SKU-E?location=W1`, {
          headers: { authorization: `Bearer ${admin}`, 'if-none-match': etag },
        });
        expect(res.status).toBe(200);
        return res;
      },
      5_000,
      100,
    );
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(await changed.json()).toMatchObject({ available: 15 });
  });

  it('answers a batch in request order and refuses more than 200 items with the field named', async () => {
    const items = Array.from({ length: 201 }, (_, i) => ({ sku: `SKU-${i}`, location: 'W1' }));
    const tooMany = await call('POST', '/v1/availability:batch', { token: admin, body: { items } });
    expectProblem(tooMany, 400, 'invalid-request');
    expect(tooMany.body.errors).toEqual([{ field: 'items', message: expect.stringContaining('200') }]);
    const ok = await call('POST', '/v1/availability:batch', { token: admin, body: { items: items.slice(0, 200) } });
    expect(ok.status).toBe(200);
    expect((ok.body.items as { sku: string }[]).map((i) => i.sku)).toEqual(items.slice(0, 200).map((i) => i.sku));
  });

  it('answers a region with the sum over the locations below it', async () => {
    // A tenant of its own: its location tree must not change what the other specs' tenant sees.
    const chain = await tokenFor('rest-regions');
    const headers = { authorization: `Bearer ${chain}` };
    await stack.grpc.upsertProduct({ sku: 'SKU-REG', name: 'regional item', baseUnit: 'unit' }, { headers });
    await stack.grpc.upsertLocation({ locationId: 'R-NORTH', name: 'North', kind: LocationKind.REGION }, { headers });
    for (const [w, q] of [
      ['W-N1', 4],
      ['W-N2', 5],
    ] as const) {
      await stack.grpc.upsertLocation(
        { locationId: w, name: w, kind: LocationKind.WAREHOUSE, parentId: 'R-NORTH' },
        { headers },
      );
      await stack.grpc.receiveStock(
        { movementId: `recv-reg-${w}`, sku: 'SKU-REG', locationId: w, quantity: BigInt(q) },
        { headers },
      );
    }
    const a = await call('GET', '/v1/availability/SKU-REG?region=R-NORTH', { token: chain });
    expect(a.body).toMatchObject({
      sku: 'SKU-REG',
      region: 'R-NORTH',
      locationCount: 2,
      available: 9,
      status: 'IN_STOCK',
    });
    expect(a.body.location).toBeUndefined();
  });

  it('answers 400 naming the field when neither location nor region is given', async () => {
    const bad = await call('GET', '/v1/availability/SKU-A', { token: admin });
    expectProblem(bad, 400, 'invalid-request');
    expect(bad.body.errors).toEqual([{ field: 'location', message: 'give exactly one of location or region' }]);
  });
});

describe('reservations', () => {
  const body = { channel: 'ECOMMERCE', lines: [{ sku: 'SKU-R', location: 'W1', quantity: 2 }], orderRef: 'ORDER-1' };

  it('replays the original 201 for the same Idempotency-Key and body, holding the stock once', async () => {
    await stockUp(stack.grpc, admin, 'SKU-R', 'W1', 10, 'recv-r');
    const first = await reserve(admin, 'order-1-attempt', body);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      status: 'PENDING',
      channel: 'ECOMMERCE',
      lines: [{ sku: 'SKU-R', location: 'W1', quantity: 2 }],
    });
    expect(first.headers.get('location')).toBe(`/v1/reservations/${String(first.body.id)}`);
    const replay = await reserve(admin, 'order-1-attempt', {
      ...body,
      lines: [{ quantity: 2, location: 'W1', sku: 'SKU-R' }],
    });
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    const stock = await call('GET', '/v1/stock?sku=SKU-R&location=W1', { token: admin });
    expect(stock.body).toMatchObject({ onHand: 10, reserved: 2, available: 8 });
  });

  it('answers 422 when an Idempotency-Key is reused with another body, and holds nothing for it', async () => {
    const reused = await reserve(admin, 'order-1-attempt', {
      ...body,
      lines: [{ sku: 'SKU-R', location: 'W1', quantity: 3 }],
    });
    expectProblem(reused, 422, 'conflicting-reuse');
    expect((await call('GET', '/v1/stock?sku=SKU-R&location=W1', { token: admin })).body).toMatchObject({
      reserved: 2,
    });
  });

  it('answers 400 when the Idempotency-Key header is missing', async () => {
    const missing = await reserve(admin, undefined, body);
    expectProblem(missing, 400, 'invalid-request');
    expect(missing.body.errors).toEqual([{ field: 'Idempotency-Key', message: expect.any(String) }]);
  });

  it('answers 409 idempotency-key-in-use to a duplicate sent while the first is still running', async () => {
    await stockUp(stack.grpc, admin, 'SKU-D', 'W1', 10, 'recv-d');
    const dup = { channel: 'ECOMMERCE', lines: [{ sku: 'SKU-D', location: 'W1', quantity: 1 }] };
    const answers = await Promise.all(Array.from({ length: 8 }, () => reserve(admin, 'dup-key', dup)));
    const created = answers.filter((a) => a.status === 201);
    const running = answers.filter((a) => a.status === 409);
    expect(created.length + running.length).toBe(answers.length);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(running.length).toBeGreaterThanOrEqual(1);
    for (const r of running) expectProblem(r, 409, 'idempotency-key-in-use');
    expect(new Set(created.map((c) => c.body.id)).size).toBe(1);
    expect((await call('GET', '/v1/stock?sku=SKU-D&location=W1', { token: admin })).body).toMatchObject({
      reserved: 1,
    });
  });

  it('answers 400 naming each bad field of the body', async () => {
    const bad = await reserve(admin, 'bad-body', {
      channel: 'FAX',
      lines: [{ sku: 'SKU-R', location: 'W1', quantity: 0 }],
    });
    expectProblem(bad, 400, 'invalid-request');
    expect((bad.body.errors as { field: string }[]).map((e) => e.field).sort()).toEqual([
      'channel',
      'lines[0].quantity',
    ]);
    expectProblem(
      await call('POST', '/v1/reservations', {
        token: admin,
        body: '{"channel":',
        headers: { 'idempotency-key': 'broken-json' },
      }),
      400,
      'invalid-request',
    );
  });

  it('confirms, fulfils and releases; a release after fulfilment answers 409 with the reason', async () => {
    await stockUp(stack.grpc, admin, 'SKU-C', 'W1', 5, 'recv-c');
    const created = await reserve(admin, 'lifecycle-1', {
      channel: 'ECOMMERCE',
      lines: [{ sku: 'SKU-C', location: 'W1', quantity: 2 }],
    });
    const id = String(created.body.id);
    const confirmed = await call('POST', `/v1/reservations/${id}/confirm`, {
      token: admin,
      body: { orderRef: 'ORDER-9' },
    });
    expect(confirmed.body).toMatchObject({ status: 'CONFIRMED', orderRef: 'ORDER-9' });
    expect(
      (await call('POST', `/v1/reservations/${id}/fulfil`, { token: admin, body: { shipmentRef: 'SHIP-1' } })).body,
    ).toMatchObject({ status: 'FULFILLED' });
    const late = await call('POST', `/v1/reservations/${id}/release`, { token: admin, body: { reason: 'too late' } });
    expectProblem(late, 409, 'reservation-state');
    expect(late.body.reason).toBe('RESERVATION_FULFILLED');
    expect((await call('GET', `/v1/reservations/${id}`, { token: admin })).body).toMatchObject({
      id,
      status: 'FULFILLED',
      shipmentRef: 'SHIP-1',
    });
    expect((await call('GET', '/v1/stock?sku=SKU-C&location=W1', { token: admin })).body).toMatchObject({
      onHand: 3,
      reserved: 0,
      committed: 0,
      available: 3,
      physical: 3,
    });

    const other = await reserve(admin, 'lifecycle-2', {
      channel: 'B2B',
      lines: [{ sku: 'SKU-C', location: 'W1', quantity: 1 }],
    });
    const released = await call('POST', `/v1/reservations/${String(other.body.id)}/release`, { token: admin });
    expect(released.body).toMatchObject({ status: 'RELEASED', channel: 'B2B' });
  });

  it('answers 404 problem+json for an unknown reservation', async () => {
    expectProblem(await call('GET', '/v1/reservations/no-such-reservation', { token: admin }), 404, 'not-found');
    expectProblem(
      await call('POST', '/v1/reservations/no-such-reservation/confirm', { token: admin }),
      404,
      'not-found',
    );
  });
});

describe('Black Friday through REST', () => {
  it('gives the last unit to exactly one of e-commerce and B2B asking at the same instant; the other gets a 409 naming the shortfall', async () => {
    await stockUp(stack.grpc, admin, 'SKU-BF', 'W1', 1, 'recv-bf');
    const shop = await tokenFor(T, { roles: ['channel_service'], channels: ['ECOMMERCE'], sub: 'web-shop' });
    const portal = await tokenFor(T, { roles: ['channel_service'], channels: ['B2B'], sub: 'b2b-portal' });
    const line = [{ sku: 'SKU-BF', location: 'W1', quantity: 1 }];
    const answers = await Promise.all([
      reserve(shop, 'bf-web-1', { channel: 'ECOMMERCE', lines: line }),
      reserve(portal, 'bf-b2b-1', { channel: 'B2B', lines: line }),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    const loser = answers.find((a) => a.status === 409) as Answer;
    expectProblem(loser, 409, 'insufficient-stock');
    expect(loser.body).toMatchObject({ sku: 'SKU-BF', location: 'W1', requested: 1, available: 0 });
    expect((await call('GET', '/v1/stock?sku=SKU-BF&location=W1', { token: admin })).body).toMatchObject({
      onHand: 1,
      reserved: 1,
      available: 0,
    });
  });
});

describe('correlation', () => {
  it("echoes the caller's Correlation-Id and records it on the events the call caused", async () => {
    await stockUp(stack.grpc, admin, 'SKU-CID', 'W1', 3, 'recv-cid');
    const created = await reserve(admin, 'cid-1', {
      channel: 'ECOMMERCE',
      lines: [{ sku: 'SKU-CID', location: 'W1', quantity: 1 }],
    });
    expect(created.headers.get('correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    const withId = await call('POST', `/v1/reservations/${String(created.body.id)}/confirm`, {
      token: admin,
      headers: { 'correlation-id': 'checkout-7781' },
    });
    expect(withId.headers.get('correlation-id')).toBe('checkout-7781');
    const { rows } = await stack.db.pool.query<{ event_type: string }>(
      "select event_type from events where metadata->>'correlationId' = 'checkout-7781' order by global_position",
    );
    expect(rows.map((r) => r.event_type)).toEqual(expect.arrayContaining([expect.stringContaining('confirmed')]));
  });
});

describe('Server-Sent Events', () => {
  it('sends the current level of a watched item, then the change a reservation causes', async () => {
    await stockUp(stack.grpc, admin, 'SKU-S', 'W2', 6, 'recv-s');
    const sse = await openSse(`${url}/v1/availability/stream?location=W2&sku=SKU-S`, {
      authorization: `Bearer ${admin}`,
    });
    try {
      expect(sse.status).toBe(200);
      expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect((await sse.next()).event).toBe('open');
      const current = await sse.next();
      expect(current).toMatchObject({
        event: 'availability',
        data: { sku: 'SKU-S', location: 'W2', available: 6, status: 'IN_STOCK', eventId: '' },
      });
      expect(current.id).toMatch(/^[\w-]{16}\.\d+$/);
      expect(
        (
          await reserve(admin, 'sse-1', {
            channel: 'ECOMMERCE',
            lines: [{ sku: 'SKU-S', location: 'W2', quantity: 2 }],
          })
        ).status,
      ).toBe(201);
      const change = await sse.next(5_000);
      expect(change).toMatchObject({
        event: 'availability',
        data: { sku: 'SKU-S', available: 4, status: 'LOW_STOCK', label: 'Only 4 left' },
      });
      expect((change.data as { eventId: string }).eventId).not.toBe('');
    } finally {
      sse.close();
    }
  });

  it('resumes from Last-Event-ID with the changes made while the client was away', async () => {
    await stockUp(stack.grpc, admin, 'SKU-Z0', 'W3', 9, 'recv-z0');
    const headers = { authorization: `Bearer ${admin}` };
    // A location watch has no current levels: the core's log says when it is registered.
    const sse = await loggedAfter(stack.core.output, 'watcher registered', () =>
      openSse(`${url}/v1/availability/stream?location=W3`, headers),
    );
    let lastId: string | undefined;
    try {
      const open = await sse.next();
      expect(open).toMatchObject({ event: 'open', data: { resumed: false } });
      await stack.grpc.receiveStock(
        { movementId: 'z-warm-0', sku: 'SKU-Z0', locationId: 'W3', quantity: 1n },
        { headers },
      );
      lastId = (await sse.next()).id;
    } finally {
      sse.close();
    }
    if (lastId === undefined) throw new Error('the change had no id');
    // Another stream on the same item shows when the change made while away has reached the edge.
    const marker = await openSse(`${url}/v1/availability/stream?location=W3&sku=SKU-Z0`, headers);
    try {
      expect((await marker.next()).event).toBe('open');
      // Its current level says its watch is registered (the Redis view may still show 9 or 10).
      expect((await marker.next()).event).toBe('availability');
      expect(
        (
          await reserve(admin, 'away-1', {
            channel: 'ECOMMERCE',
            lines: [{ sku: 'SKU-Z0', location: 'W3', quantity: 4 }],
          })
        ).status,
      ).toBe(201);
      // Skip to the level the reservation leaves: 9 + 1 - 4.
      while (((await marker.next()).data as { available: number }).available !== 6);
    } finally {
      marker.close();
    }

    const resumed = await openSse(`${url}/v1/availability/stream?location=W3`, { ...headers, 'last-event-id': lastId });
    try {
      expect(await resumed.next()).toMatchObject({
        event: 'open',
        data: { resumed: true, stream: lastId.split('.')[0] },
      });
      // Whatever the first connection had not read comes first, then the reservation made while away.
      for (;;) {
        const e = await resumed.next(3_000);
        expect(e.event).toBe('availability');
        expect(Number(e.id?.split('.')[1])).toBeGreaterThan(Number(lastId.split('.')[1]));
        if ((e.data as { available: number }).available === 9 + 1 - 4) break;
      }
    } finally {
      resumed.close();
    }
  });

  it('sends a reset event when Last-Event-ID cannot be resumed, then keeps streaming', async () => {
    const sse = await openSse(`${url}/v1/availability/stream?location=W4&sku=SKU-S`, {
      authorization: `Bearer ${admin}`,
      'last-event-id': 'AAAAAAAAAAAAAAAA.41',
    });
    try {
      expect(await sse.next()).toMatchObject({ event: 'open', data: { resumed: false } });
      expect(await sse.next()).toMatchObject({ event: 'reset', data: { lastEventId: 'AAAAAAAAAAAAAAAA.41' } });
      expect(await sse.next()).toMatchObject({ event: 'availability', data: { sku: 'SKU-S', location: 'W4' } });
    } finally {
      sse.close();
    }
  });
});

describe('documentation', () => {
  it('serves an OpenAPI 3.1 document with every route, and a self-contained /docs page generated from it', async () => {
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { operationId: string; requestBody?: unknown }>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(
      expect.arrayContaining([
        '/v1/availability/{sku}',
        '/v1/availability:batch',
        '/v1/availability/stream',
        '/v1/reservations',
        '/v1/reservations/{id}',
        '/v1/reservations/{id}/confirm',
        '/v1/reservations/{id}/release',
        '/v1/stock',
      ]),
    );
    const create = doc.paths['/v1/reservations']?.post as unknown as {
      requestBody: { content: Record<string, { schema: { properties: Record<string, { maxItems?: number }> } }> };
    };
    expect(create.requestBody.content['application/json']?.schema.properties.lines?.maxItems).toBe(100);
    const html = await (await fetch(`${url}/docs`)).text();
    expect(html).toContain('createReservation');
    expect(html).toContain('/v1/availability:batch');
    expect(html).not.toMatch(/<script|<link[^>]+href="http/);
  });
});

describe('limits and failures (an edge started in the spec, in front of the same core)', () => {
  let strict: EdgeHandle;
  let down: EdgeHandle;
  let hasty: EdgeHandle;
  const settings = loadEdgeSettings({});
  // The strict edge's clock: its token buckets refill only when a test moves it.
  let strictNow = Date.now();

  beforeAll(async () => {
    const jwt = { jwtSecret: (await import('../../platform/config.js')).DEVELOPMENT_JWT_SECRET };
    strict = await startEdge(
      jwt,
      { ...settings, tenantRps: 2, bodyLimitBytes: 2_048, sseHeartbeatMs: 200 },
      { coreUrl: stack.core.url, port: 0, log: silentLog, now: () => strictNow },
    );
    down = await startEdge(jwt, settings, {
      coreUrl: `http://127.0.0.1:${await freePort()}`,
      port: 0,
      log: silentLog,
      now: Date.now,
    });
    hasty = await startEdge(
      jwt,
      { ...settings, coreTimeoutMs: 1 },
      { coreUrl: stack.core.url, port: 0, log: silentLog, now: Date.now },
    );
  });

  afterAll(async () => {
    await strict?.close();
    await down?.close();
    await hasty?.close();
  });

  const at = async (
    edge: EdgeHandle,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await fetch(`${edge.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${admin}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return {
      status: res.status,
      headers: res.headers,
      body: (await res.json().catch(() => ({}))) as Record<string, unknown>,
    };
  };

  it('answers 429 with Retry-After once a tenant exceeds its rate', async () => {
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await at(strict, 'GET', '/v1/availability/SKU-A?location=W1'));
    const limited = answers.find((a) => a.status === 429);
    expect(answers[0]?.status).toBe(200);
    expect(limited).toBeDefined();
    expectProblem(limited as Answer, 429, 'rate-limited');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('answers 413 problem+json to a body over the size limit', async () => {
    const big = { channel: 'ECOMMERCE', lines: [{ sku: 'x'.repeat(4_000), location: 'W1', quantity: 1 }] };
    strictNow += 2_100; // the strict edge's bucket refills
    expectProblem(
      await at(strict, 'POST', '/v1/reservations', big, { 'idempotency-key': 'big-1' }),
      413,
      'payload-too-large',
    );
  });

  it('sends heartbeat comment lines on a quiet event stream', async () => {
    const sse = await openSse(`${strict.url}/v1/availability/stream?location=W-QUIET`, {
      authorization: `Bearer ${admin}`,
    });
    try {
      expect((await sse.next()).event).toBe('open');
      await sse.next(700).catch(() => null);
      expect(sse.comments.filter((c) => c.startsWith('heartbeat')).length).toBeGreaterThanOrEqual(2);
    } finally {
      sse.close();
    }
  });

  it('answers 503 with Retry-After when the core is unreachable', async () => {
    const a = await at(down, 'GET', '/v1/availability/SKU-A?location=W1');
    expectProblem(a, 503, 'core-unavailable');
    expect(a.headers.get('retry-after')).toBe('1');
    expect(String(a.body.detail)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
  });

  it('answers 504 when the core misses the deadline', async () => {
    await stockUp(stack.grpc, admin, 'SKU-T', 'W1', 5, 'recv-t');
    expectProblem(
      await at(
        hasty,
        'POST',
        '/v1/reservations',
        { channel: 'ECOMMERCE', lines: [{ sku: 'SKU-T', location: 'W1', quantity: 1 }] },
        { 'idempotency-key': 'hasty-1' },
      ),
      504,
      'deadline-exceeded',
    );
  });
});
