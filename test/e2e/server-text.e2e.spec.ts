// The text rule at the core, on both ports: a NUL, a control character or a lone surrogate in any
// text field is refused with INVALID_ARGUMENT naming the field, and nothing is applied. (A NUL used
// to reach Postgres, which refuses it in jsonb and text: INTERNAL on every retry.)
import { beforeAll, describe, expect, it } from 'vitest';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { Channel } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { LocationKind } from '../../gen/stockmind/inventory/v1/catalog_pb.js';
import { AdjustmentKind, QualityOutcome } from '../../gen/stockmind/inventory/v1/movements_pb.js';
import { errorDetails } from '../../loadtest/runner/grpcClient.js';
import { coreForSpec, failure } from '../support/core.js';
import { tokenFor } from '../support/tokens.js';
import { timestampNow } from '@bufbuild/protobuf/wkt';
import type { GrpcClient } from '../../loadtest/runner/grpcClient.js';

const m = InventoryService.method;
const TENANT = 'text';
const SKU = 'SKU-TXT';
const W = 'W-TXT';
const NUL = 'a\u0000b';
const soldNow = () => timestampNow();
/** One unit of the spec's SKU at its warehouse: what every movement below moves. */
const ONE = { sku: SKU, locationId: W, quantity: 1n };

/** Each RPC with a free-text field, the field as the core names it, and a request that is valid but for it. */
const CASES: [string, string, (c: GrpcClient, bad: string) => Promise<unknown>][] = [
  [
    'ReserveStock',
    'order_ref',
    (c, bad) =>
      c.unary(m.reserveStock, {
        reservationId: 'res-bad',
        channel: Channel.ECOMMERCE,
        lines: [{ sku: SKU, locationId: W, quantity: 1n }],
        orderRef: bad,
      }),
  ],
  [
    'ConfirmReservation',
    'order_ref',
    (c, bad) => c.unary(m.confirmReservation, { reservationId: 'held', orderRef: bad }),
  ],
  [
    'FulfilReservation',
    'shipment_ref',
    (c, bad) => c.unary(m.fulfilReservation, { reservationId: 'confirmed', shipmentRef: bad }),
  ],
  ['ReleaseStock', 'reason', (c, bad) => c.unary(m.releaseStock, { reservationId: 'held', reason: bad })],
  ['ReceiveStock', 'reference', (c, bad) => c.unary(m.receiveStock, { movementId: 'rcv-bad', ...ONE, reference: bad })],
  ['RecordSale', 'reference', (c, bad) => c.unary(m.recordSale, { movementId: 'sale-bad', ...ONE, reference: bad })],
  [
    'AdjustStock',
    'reason',
    (c, bad) =>
      c.unary(m.adjustStock, {
        movementId: 'adj-bad',
        ...ONE,
        kind: AdjustmentKind.DAMAGE,
        reason: bad,
      }),
  ],
  ['ExpectStock', 'reference', (c, bad) => c.unary(m.expectStock, { movementId: 'exp-bad', ...ONE, reference: bad })],
  [
    'DispatchTransfer',
    'reason',
    (c, bad) =>
      c.unary(m.dispatchTransfer, {
        transferId: 'tr-bad',
        sku: SKU,
        fromLocationId: W,
        toLocationId: 'W-TXT-2',
        quantity: 1n,
        reason: bad,
      }),
  ],
  [
    'ReceiveTransfer',
    'reason',
    (c, bad) => c.unary(m.receiveTransfer, { movementId: 'rtr-bad', transferId: 'tr-1', quantity: 1n, reason: bad }),
  ],
  [
    'RecordReturn',
    'reference',
    (c, bad) =>
      c.unary(m.recordReturn, {
        movementId: 'ret-bad',
        ...ONE,
        soldAt: soldNow(),
        reference: bad,
      }),
  ],
  [
    'CompleteQualityCheck',
    'reason',
    (c, bad) =>
      c.unary(m.completeQualityCheck, {
        movementId: 'qc-bad',
        ...ONE,
        outcome: QualityOutcome.PASSED,
        reason: bad,
      }),
  ],
  ['UpsertProduct', 'name', (c, bad) => c.unary(m.upsertProduct, { sku: 'SKU-NEW', name: bad, baseUnit: 'unit' })],
  [
    'UpsertLocation',
    'name',
    (c, bad) => c.unary(m.upsertLocation, { locationId: 'W-NEW', name: bad, kind: LocationKind.WAREHOUSE }),
  ],
  ['ListMovements', 'operator', (c, bad) => c.unary(m.listMovements, { sku: SKU, locationId: W, operator: bad })],
];

describe('the text rule at the core', () => {
  const h = coreForSpec('e2e_server_text', { [TENANT]: { skus: [SKU], locations: [W, 'W-TXT-2'] } }, { grpcJs: true });
  const events = async (): Promise<number> =>
    Number(
      (await h().db.pool.query<{ n: string }>('select count(*) as n from events where tenant_id = $1', [TENANT]))
        .rows[0]?.n,
    );
  const ports: Record<string, () => GrpcClient> = {};

  beforeAll(async () => {
    const token = await tokenFor(TENANT);
    ports.connect = () => h().grpcClient(token);
    ports['grpc-js'] = () => h().grpcClient(token, h().grpcJsAddress ?? '');
    // What the requests act on: stock, a pending and a confirmed reservation, a transfer in transit, a return in quarantine.
    const c = ports.connect();
    await c.unary(m.receiveStock, { movementId: 'rcv-1', sku: SKU, locationId: W, quantity: 20n });
    for (const id of ['held', 'confirmed'])
      await c.unary(m.reserveStock, {
        reservationId: id,
        channel: Channel.ECOMMERCE,
        lines: [{ sku: SKU, locationId: W, quantity: 1n }],
      });
    await c.unary(m.confirmReservation, { reservationId: 'confirmed', orderRef: 'o-1' });
    await c.unary(m.dispatchTransfer, {
      transferId: 'tr-1',
      sku: SKU,
      fromLocationId: W,
      toLocationId: 'W-TXT-2',
      quantity: 2n,
    });
    await c.unary(m.recordReturn, { movementId: 'ret-1', sku: SKU, locationId: W, quantity: 2n, soldAt: soldNow() });
  });

  describe.each(['connect', 'grpc-js'])('on the %s port', (port) => {
    it.each(CASES)('%s refuses a NUL in %s, naming it, and applies nothing', async (_, field, call) => {
      const before = await events();
      const err = await failure(call((ports[port] as () => GrpcClient)(), NUL));
      expect(err.code).toBe(3);
      expect(errorDetails(err).badRequest?.fieldViolations).toContainEqual(
        expect.objectContaining({ field, description: 'must not contain NUL (U+0000, at position 1)' }),
      );
      expect(await events()).toBe(before);
    });

    it('refuses control characters but tab and newline, and accepts those', async () => {
      const c = (ports[port] as () => GrpcClient)();
      const [, , reserve] = CASES[0] as (typeof CASES)[number];
      const err = await failure(reserve(c, 'ref\u001b[2J'));
      expect(errorDetails(err).badRequest?.fieldViolations[0]?.description).toContain('U+001B');
      await expect(
        c.unary(m.releaseStock, { reservationId: `ok-${port}`, reason: 'line one\n\tline two' }),
      ).rejects.toMatchObject({ code: 5 }); // unknown reservation: the reason itself passed
    });

    it('names the field of a nested message by its path', async () => {
      const err = await failure(
        (ports[port] as () => GrpcClient)().unary(m.queryStock, {
          keys: [
            { sku: SKU, locationId: W },
            { sku: 'a\u0000', locationId: W },
          ],
        }),
      );
      expect(err.code).toBe(3);
      expect(errorDetails(err).badRequest?.fieldViolations.map((v) => v.field)).toEqual(['keys[1].sku']);
    });
  });
});
