// Fuzzing every HTTP surface of a whole `stockmind start`: the REST edge, the core's Connect JSON
// surface and the marketplace gateway, with valid requests mutated (fields replaced by hostile
// strings and values of the wrong type, fields dropped) and raw bodies. Whatever comes in: no 5xx,
// the process keeps serving, and a request that is refused changes nothing in the ledger.
// A fixed seed and 300 runs per surface in CI; `FUZZ_SEED=7 FUZZ_RUNS=5000 npm run fuzz` explores
// further. A failure prints the seed and the shrunk request to replay.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startStack, stockUp } from '../support/edge.js';
import { tokenFor } from '../support/tokens.js';
import { amazonOrder, jumiaOrder, signedHeaders } from '../support/webhooks.js';
import { Channel } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import type { Stack } from '../support/edge.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_270_110);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const T = 'fuzz';
const SKU = 'SKU-FZ';
const W = 'W1';

let stack: Stack;
let token: string;
let secrets: Record<string, string>;
let restHeld: string;

const events = async (): Promise<number> =>
  Number((await stack.db.pool.query<{ n: string }>('select count(*) as n from events')).rows[0]?.n);

// --- what the requests are made of ---------------------------------------------------------

/** UTF-16 code units at random, lone surrogates and controls included. */
const codeUnits = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  maxLength: 12,
});
/** Text with a character the text rule refuses somewhere in it. */
const forbidden = fc
  .tuple(
    fc.string({ maxLength: 6 }),
    fc.constantFrom('\u0000', '\u0001', '\u0008', '\u000b', '\u001b', '\r', '\u007f', '\u0085', '\ud800', '\udfff'),
    fc.string({ maxLength: 6 }),
  )
  .map((parts) => parts.join(''));
const hostile = fc.oneof(
  { weight: 3, arbitrary: forbidden },
  fc.constantFrom('', ' ', '\t', 'a\nb', '\ufeff', '📦', '%00', '\ud83d\udce6'),
  fc.constantFrom('__proto__', 'constructor', "'; drop table events; --", '../../etc/passwd', 'x'.repeat(300)),
  codeUnits,
  fc.string({ maxLength: 20 }),
);
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostile },
  fc.integer(),
  fc.constantFrom(0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, '1', '99999999999999999999'),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Every UTF-8 byte percent-encoded (a lone surrogate becomes U+FFFD: a URL cannot carry one). */
const percent = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

type Json = Record<string, unknown>;

/** Every path to a value inside a JSON document: ['lines', 0, 'sku'], … */
const pathsOf = (v: unknown, at: (string | number)[] = []): (string | number)[][] =>
  v !== null && typeof v === 'object'
    ? [at, ...Object.entries(v).flatMap(([k, x]) => pathsOf(x, [...at, Array.isArray(v) ? Number(k) : k]))]
    : [at];

const apply = (doc: unknown, path: (string | number)[], value: unknown, drop: boolean): unknown => {
  if (path.length === 0) return drop ? undefined : value;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  const copy: Json | unknown[] = Array.isArray(doc) ? [...doc] : { ...(doc as Json) };
  const next = apply((copy as Json)[head], rest, value, drop);
  if (next === undefined) delete (copy as Json)[head];
  else (copy as Json)[head] = next;
  return copy;
};

const valueAt = (doc: unknown, path: (string | number)[]): unknown =>
  path.reduce<unknown>((v, k) => (v as Json | undefined)?.[k], doc);

/**
 * A valid document with one to three changes: mostly a text field given hostile text (the rest of
 * the request stays valid, so the text reaches as far as it can), else any value replaced or dropped.
 */
const mutated = (base: unknown): fc.Arbitrary<unknown> => {
  const paths = pathsOf(base);
  const textPaths = paths.filter((p) => typeof valueAt(base, p) === 'string');
  const change = fc.oneof(
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...textPaths), hostile, fc.constant(false)) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...paths), anyValue, fc.boolean()) },
  );
  return fc
    .oneof({ weight: 3, arbitrary: change.map((c) => [c]) }, fc.array(change, { minLength: 2, maxLength: 3 }))
    .map((changes) => changes.reduce((doc, [path, value, drop]) => apply(doc, path, value, drop), base));
};

/** The document with every `{n}` in its strings replaced: ids fresh for each request, so it reaches the ledger. */
const fresh = (doc: unknown, n: string): unknown =>
  typeof doc === 'string'
    ? doc.replaceAll('{n}', n)
    : doc !== null && typeof doc === 'object'
      ? Array.isArray(doc)
        ? doc.map((x) => fresh(x, n))
        : Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, fresh(v, n)]))
      : doc;

/** A body as sent: a mutated valid document (with fresh ids), or raw text. */
const body = (bases: unknown[]): fc.Arbitrary<string> =>
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc
        .tuple(fc.constantFrom(...bases), fc.uuid())
        .chain(([base, n]) => mutated(fresh(base, n.slice(0, 8))))
        .map((d) => JSON.stringify(d) ?? 'null'),
    },
    { weight: 1, arbitrary: fc.oneof(hostile, fc.constantFrom('{', '[]', '{"a":', '\u0000', 'null')) },
  );

// --- the check -----------------------------------------------------------------------------

type Sent = { status: number; changes: boolean };

/** Sends one request; whatever it was: no 5xx, and nothing changed in the ledger unless accepted. */
const fuzz = async (send: () => Promise<Sent>, what: unknown): Promise<void> => {
  const before = await events();
  const { status, changes } = await send();
  expect(status, JSON.stringify(what)).toBeLessThan(500);
  if (!changes) expect(await events(), `a refused request changed the ledger: ${JSON.stringify(what)}`).toBe(before);
};

const property = <T>(arb: fc.Arbitrary<T>, run: (v: T) => Promise<void>) =>
  fc.assert(fc.asyncProperty(arb, run), { seed: SEED, numRuns: RUNS });

beforeAll(async () => {
  stack = await startStack('fuzz');
  token = await tokenFor(T, { sub: 'fuzzer' });
  await stockUp(stack.grpc, token, SKU, W, 1_000, 'fz-rcv');
  secrets = {};
  for (const m of ['jumia', 'amazon']) {
    const r = await runCli(['webhooks', 'secret', '--tenant', T, '--marketplace', m], { DATABASE_URL: stack.db.url });
    secrets[m] = r.stdout.trim().split('\n').at(-1) ?? '';
  }
  // Held reservations for the transitions to act on, one per surface.
  const hold = { channel: 'B2B', lines: [{ sku: SKU, location: W, quantity: 1 }] };
  const rest = await fetch(`${stack.edgeUrl}/v1/reservations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': 'fz-held' },
    body: JSON.stringify(hold),
  });
  restHeld = String(((await rest.json()) as { id: string }).id);
  await stack.grpc.reserveStock(
    { reservationId: 'fz-held', channel: Channel.B2B, lines: [{ sku: SKU, locationId: W, quantity: 1n }] },
    { headers: { authorization: `Bearer ${token}` } },
  );
  const created = {
    jumia: jumiaOrder({
      eventId: 'fz-j0',
      orderNumber: 'FZ-HELD',
      event: 'order.created',
      warehouse: W,
      items: [{ sku: SKU, qty: 1 }],
    }),
    amazon: amazonOrder({
      notificationId: 'fz-a0',
      orderId: 'FZ-HELD',
      status: 'Pending',
      node: W,
      items: [{ sku: SKU, qty: 1 }],
    }),
  };
  for (const [m, order] of Object.entries(created)) {
    const text = JSON.stringify(order);
    const res = await fetch(`${stack.webhooksUrl}/v1/marketplaces/${T}/${m}/orders`, {
      method: 'POST',
      headers: signedHeaders(secrets[m] ?? '', text),
      body: text,
    });
    expect(((await res.json()) as { outcome: string }).outcome).toBe('accepted');
  }
});

afterAll(async () => {
  expect(await stack?.stop()).toBe(0);
});

describe('fuzzing the HTTP surfaces', () => {
  it('the REST edge', async () => {
    const line = { sku: SKU, location: W, quantity: 1 };
    const routes: [string, string, unknown[]][] = [
      ['POST', '/v1/reservations', [{ channel: 'ECOMMERCE', lines: [line], orderRef: 'o-{n}', ttlSeconds: 600 }]],
      ['POST', '/v1/reservations/{id}/confirm', [{ orderRef: 'o-1' }]],
      ['POST', '/v1/reservations/{id}/fulfil', [{ shipmentRef: 's-1' }]],
      ['POST', '/v1/reservations/{id}/release', [{ reason: 'changed mind' }]],
      [
        'POST',
        '/v1/availability:batch',
        [
          {
            items: [
              { sku: SKU, location: W },
              { sku: SKU, region: 'R' },
            ],
          },
        ],
      ],
      [
        'POST',
        '/v1/webhooks/subscriptions',
        [{ url: 'https://partner.example/h', eventTypes: ['*'], description: 'd' }],
      ],
      ['GET', '/v1/availability/{id}?location={q}', []],
      ['GET', '/v1/stock?sku={id}&location={q}&consistency={q}', []],
    ];
    const request = fc
      .record({
        route: fc.constantFrom(...routes),
        id: fc.oneof(fc.constantFrom(SKU, restHeld), hostile),
        q: fc.oneof(fc.constant(W), hostile),
        key: fc.oneof(fc.uuid(), hostile),
        body: fc.constant<string | null>(null),
      })
      .chain((r) => (r.route[2].length === 0 ? fc.constant(r) : body(r.route[2]).map((b) => ({ ...r, body: b }))));
    await property(request, (r) =>
      fuzz(async () => {
        const [method, template] = r.route;
        const path = template.replace('{id}', percent(r.id)).replaceAll('{q}', percent(r.q));
        const res = await fetch(`${stack.edgeUrl}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(r.body === null ? {} : { 'content-type': 'application/json' }),
            ...(/^[\x21-\x7e]+$/.test(r.key) ? { 'idempotency-key': r.key } : {}),
          },
          ...(r.body === null ? {} : { body: r.body }),
        });
        await res.arrayBuffer();
        return { status: res.status, changes: res.status < 300 };
      }, r),
    );
  });

  it("the core's Connect JSON surface", async () => {
    const key = { sku: SKU, locationId: W };
    const methods: [string, unknown[]][] = [
      [
        'ReserveStock',
        [{ reservationId: 'fz-r-{n}', channel: 'CHANNEL_POS', lines: [{ ...key, quantity: '1' }], ttl: '60s' }],
      ],
      ['ConfirmReservation', [{ reservationId: 'fz-held', orderRef: 'o' }]],
      ['ReleaseStock', [{ reservationId: 'fz-held', reason: 'r' }]],
      ['ReceiveStock', [{ movementId: 'fz-m-{n}', ...key, quantity: '1', reference: 'ref' }]],
      ['RecordSale', [{ movementId: 'fz-s-{n}', ...key, quantity: '1', channel: 'CHANNEL_POS' }]],
      ['AdjustStock', [{ movementId: 'fz-a-{n}', ...key, kind: 'ADJUSTMENT_KIND_DAMAGE', quantity: '1', reason: 'r' }]],
      ['QueryStock', [{ keys: [key], consistency: 'CONSISTENCY_STRONG' }]],
      ['UpsertLocation', [{ locationId: 'W-FZ', name: 'n', kind: 'LOCATION_KIND_WAREHOUSE' }]],
      ['ListMovements', [{ sku: SKU, locationId: W, pageSize: 5, operator: 'fuzzer' }]],
      ['GetStockAt', [{ keys: [key], at: '2026-01-01T00:00:00Z' }]],
    ];
    const request = fc.constantFrom(...methods).chain(([name, bases]) => body(bases).map((b) => ({ name, body: b })));
    await property(request, (r) =>
      fuzz(async () => {
        const res = await fetch(`${stack.core.url}/stockmind.inventory.v1.InventoryService/${r.name}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: r.body,
        });
        await res.arrayBuffer();
        return { status: res.status, changes: res.status === 200 };
      }, r),
    );
  });

  it('the marketplace gateway (signed notifications)', async () => {
    const bases: Record<string, unknown[]> = {
      jumia: [
        jumiaOrder({
          eventId: 'fz-j1-{n}',
          orderNumber: 'FZ-{n}',
          event: 'order.created',
          warehouse: W,
          items: [{ sku: SKU, qty: 1 }],
        }),
        jumiaOrder({ eventId: 'fz-j2-{n}', orderNumber: 'FZ-HELD', event: 'order.cancelled', reason: 'late' }),
      ],
      amazon: [
        amazonOrder({
          notificationId: 'fz-a1-{n}',
          orderId: 'FZ-{n}',
          status: 'Pending',
          node: W,
          items: [{ sku: SKU, qty: 1 }],
        }),
        amazonOrder({ notificationId: 'fz-a2-{n}', orderId: 'FZ-HELD', status: 'Canceled' }),
      ],
    };
    const request = fc
      .constantFrom('jumia', 'amazon')
      .chain((marketplace) => body(bases[marketplace] ?? []).map((b) => ({ marketplace, body: b })));
    await property(request, (r) =>
      fuzz(async () => {
        const res = await fetch(`${stack.webhooksUrl}/v1/marketplaces/${T}/${r.marketplace}/orders`, {
          method: 'POST',
          headers: signedHeaders(secrets[r.marketplace] ?? '', r.body),
          body: r.body,
        });
        const answer = (await res.json().catch(() => ({}))) as { outcome?: string };
        return { status: res.status, changes: res.status === 200 && answer.outcome === 'accepted' };
      }, r),
    );
  });

  it('leaves every process serving', async () => {
    expect(stack.core.child.exitCode).toBeNull();
    expect((await fetch(`${stack.edgeUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${stack.webhooksUrl}/healthz`)).status).toBe(200);
  });
});
