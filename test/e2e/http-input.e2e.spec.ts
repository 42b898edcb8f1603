// Bad input on the HTTP ports of a whole `stockmind start`: the REST edge and the marketplace
// gateway answer the text rule with 400 naming the field (the edge) or a recorded permanent
// refusal (a signed marketplace notification), malformed bodies with 400 saying what was wrong,
// and oversize bodies with 413 naming the limit. Nothing is applied by any of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startStack, stockUp } from '../support/edge.js';
import { tokenFor } from '../support/tokens.js';
import { jumiaOrder, signedHeaders, amazonOrder } from '../support/webhooks.js';
import type { Stack } from '../support/edge.js';

const T = 'http-input';
const SKU = 'SKU-HI';
const W = 'W1';
let stack: Stack;
let admin: string;
let jumiaSecret: string;
let amazonSecret: string;

const events = async (): Promise<number> =>
  Number(
    (await stack.db.pool.query<{ n: string }>('select count(*) as n from events where tenant_id = $1', [T])).rows[0]?.n,
  );

type Answer = { status: number; headers: Headers; body: Record<string, unknown> };

const send = async (url: string, init: RequestInit): Promise<Answer> => {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? {} : JSON.parse(text) };
};

const edge = (path: string, body: string, headers: Record<string, string> = {}) =>
  send(`${stack.edgeUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', ...headers },
    body,
  });

const market = (marketplace: string, body: string, secret: string) =>
  send(`${stack.webhooksUrl}/v1/marketplaces/${T}/${marketplace}/orders`, {
    method: 'POST',
    headers: signedHeaders(secret, body),
    body,
  });

const fields = (a: Answer) => (a.body.errors as { field: string; message: string }[] | undefined) ?? [];

beforeAll(async () => {
  stack = await startStack('http_input');
  admin = await tokenFor(T, { sub: 'http-admin' });
  await stockUp(stack.grpc, admin, SKU, W, 50, 'rcv-hi');
  const secret = async (m: string) =>
    (await runCli(['webhooks', 'secret', '--tenant', T, '--marketplace', m], { DATABASE_URL: stack.db.url })).stdout
      .trim()
      .split('\n')
      .at(-1) ?? '';
  jumiaSecret = await secret('jumia');
  amazonSecret = await secret('amazon');
});

afterAll(async () => {
  expect(await stack?.stop()).toBe(0);
});

describe('the REST edge', () => {
  let held: string;
  beforeAll(async () => {
    const r = await edge(
      '/v1/reservations',
      JSON.stringify({ channel: 'ECOMMERCE', lines: [{ sku: SKU, location: W, quantity: 1 }] }),
      { 'idempotency-key': 'hi-held' },
    );
    expect(r.status).toBe(201);
    held = String(r.body.id);
  });

  it.each([
    ['create', 'orderRef', '/v1/reservations'],
    ['confirm', 'orderRef', '/v1/reservations/{id}/confirm'],
    ['fulfil', 'shipmentRef', '/v1/reservations/{id}/fulfil'],
    ['release', 'reason', '/v1/reservations/{id}/release'],
  ])('%s: answers 400 naming %s when it holds a NUL, and applies nothing', async (_, field, path) => {
    const before = await events();
    const body =
      path === '/v1/reservations'
        ? { channel: 'ECOMMERCE', lines: [{ sku: SKU, location: W, quantity: 1 }], [field]: 'a\u0000b' }
        : { [field]: 'a\u0000b' };
    const r = await edge(path.replace('{id}', held), JSON.stringify(body), { 'idempotency-key': `hi-nul-${field}` });
    expect(r.status).toBe(400);
    expect(r.body.type).toBe('https://stockmind.io/problems/invalid-request');
    expect(fields(r)).toEqual([{ field, message: 'must not contain NUL (U+0000, at position 1)' }]);
    expect(await events()).toBe(before);
  });

  it('answers 400 to a lone surrogate and to control characters in a line, naming the line', async () => {
    const r = await edge(
      '/v1/reservations',
      '{"channel":"ECOMMERCE","lines":[{"sku":"SKU-HI","location":"W1","quantity":1,"unit":"\\ud800"},{"sku":"a\\tb","location":"W1","quantity":1}]}',
      { 'idempotency-key': 'hi-lone' },
    );
    expect(r.status).toBe(400);
    expect(fields(r).map((e) => [e.field, e.message.split(' (')[0]])).toEqual([
      ['lines[0].unit', 'must not contain a lone surrogate'],
      ['lines[1].sku', 'must not contain control characters'],
    ]);
  });

  it('answers 400 to a webhook subscription whose description holds a NUL', async () => {
    const r = await edge(
      '/v1/webhooks/subscriptions',
      JSON.stringify({ url: 'https://partner.example/hook', eventTypes: ['*'], description: 'a\u0000' }),
    );
    expect(r.status).toBe(400);
    expect(fields(r)).toEqual([{ field: 'description', message: 'must not contain NUL (U+0000, at position 1)' }]);
  });
});

describe('malformed and oversize bodies', () => {
  it('the edge answers JSON that does not parse with 400 saying where, and a body over its limit with 413 naming it', async () => {
    const broken = await edge('/v1/reservations', '{"channel": "ECOMMERCE", "lines": [', {
      'idempotency-key': 'hi-broken',
    });
    expect(broken.status).toBe(400);
    expect(broken.body).toMatchObject({ type: 'https://stockmind.io/problems/invalid-request' });
    expect(String(broken.body.detail)).toMatch(/JSON/);
    const before = await events();
    const big = await edge(
      '/v1/reservations',
      JSON.stringify({
        channel: 'ECOMMERCE',
        lines: [{ sku: SKU, location: W, quantity: 1 }],
        orderRef: 'x'.repeat(70_000),
      }),
      { 'idempotency-key': 'hi-big' },
    );
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ type: 'https://stockmind.io/problems/payload-too-large', limitBytes: 65536 });
    expect(String(big.body.detail)).toContain('65536 bytes');
    expect(await events()).toBe(before);
  });

  it('the marketplace gateway answers JSON that does not parse with 400 saying where, and a body over its limit with 413 naming it', async () => {
    const broken = await market('jumia', '{"event_id": "x", ', jumiaSecret);
    expect(broken.status).toBe(400);
    expect(broken.body).toMatchObject({ reason: 'MALFORMED_JSON', detail: expect.stringMatching(/JSON/) });
    const big = await market('jumia', JSON.stringify({ padding: 'x'.repeat(300_000) }), jumiaSecret);
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ reason: 'BODY_TOO_LARGE', limitBytes: 262144 });
    expect(String(big.body.detail)).toContain('262144 bytes');
  });
});

describe('the marketplace gateway', () => {
  it('answers a signed cancellation whose reason holds a NUL as a recorded permanent refusal, not a retry loop', async () => {
    const created = jumiaOrder({
      eventId: 'jm-nul-1',
      orderNumber: 'JM-NUL',
      event: 'order.created',
      warehouse: W,
      items: [{ sku: SKU, qty: 1 }],
    });
    expect((await market('jumia', JSON.stringify(created), jumiaSecret)).body.outcome).toBe('accepted');
    const before = await events();
    const body = JSON.stringify(
      jumiaOrder({ eventId: 'jm-nul-2', orderNumber: 'JM-NUL', event: 'order.cancelled', reason: 'a\u0000b' }),
    );
    const first = await market('jumia', body, jumiaSecret);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      eventId: 'jm-nul-2',
      outcome: 'refused',
      refusal: {
        reason: 'INVALID_TEXT',
        details: { 'order.cancel_reason': 'must not contain NUL (U+0000, at position 1)' },
      },
    });
    const again = await market('jumia', body, jumiaSecret);
    expect(again.status).toBe(200);
    expect(again.headers.get('stockmind-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await events()).toBe(before);
  });

  it('refuses an order whose SKU holds a control character the same way, reserving nothing', async () => {
    const before = await events();
    const body = JSON.stringify(
      amazonOrder({
        notificationId: 'amz-ctl-1',
        orderId: '113-CTL',
        status: 'Pending',
        node: W,
        items: [{ sku: 'SKU\u001bHI', qty: 1 }],
      }),
    );
    const r = await market('amazon', body, amazonSecret);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ outcome: 'refused', refusal: { reason: 'INVALID_TEXT' } });
    expect(Object.keys((r.body.refusal as { details: object }).details)).toEqual(['payload.order.items.0.sellerSku']);
    expect(await events()).toBe(before);
  });
});
