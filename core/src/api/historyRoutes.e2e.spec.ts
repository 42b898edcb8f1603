// ListMovements and GetStockAt through a running core and a gRPC client: the movement as a caller
// reads it, an instant taken from it answers the levels right after it (to the microsecond), bad
// tokens and future instants are INVALID_ARGUMENT, and the audit action keeps its scope.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TimeBasis } from '../../../gen/stockmind/inventory/v1/history_pb.js';
import { InventoryService } from '../../../gen/stockmind/inventory/v1/inventory_pb.js';
import { Channel } from '../../../gen/stockmind/inventory/v1/stock_pb.js';
import { signToken } from '../../../platform/auth/tokens.js';
import { DEVELOPMENT_JWT_SECRET } from '../../../platform/config.js';
import { createGrpcClient, errorDetails, grpc } from '../../../loadtest/runner/grpcClient.js';
import { startCoreProcess } from '../../../loadtest/bench/processes.js';
import { createTestDatabase } from '../../../test/support/db.js';
import { registerCatalogRpc } from '../../../test/support/catalog.js';
import { rejection } from '../../../test/support/app.js';
import type { ServiceError } from '@grpc/grpc-js';
import type { CoreHandle } from '../../../loadtest/bench/processes.js';
import type { GrpcClient } from '../../../loadtest/runner/grpcClient.js';
import type { Role } from '../../../platform/auth/tokens.js';
import type { TestDatabase } from '../../../test/support/db.js';

const m = InventoryService.method;
const TENANT = 'audit-e2e';

let db: TestDatabase;
let core: CoreHandle;
const clients: GrpcClient[] = [];

const clientAs = async (roles: Role[], locations: string[] = []) => {
  const token = await signToken(
    DEVELOPMENT_JWT_SECRET,
    { tenant: TENANT, sub: `${roles[0]}-1`, roles, locations, channels: [] },
    600,
  );
  const c = createGrpcClient(InventoryService, `127.0.0.1:${core.port}`, { token });
  clients.push(c);
  return c;
};
const failure = (call: Promise<unknown>) => rejection(call) as Promise<ServiceError>;

beforeAll(async () => {
  db = await createTestDatabase('e2e_history', 4);
  core = await startCoreProcess({
    DATABASE_URL: db.url,
    STOCKMIND_PG_POOL_MAX: '4',
    STOCKMIND_NAMESPACE: `e2e-history-${randomBytes(3).toString('hex')}`,
  });
  const admin = await clientAs(['admin']);
  await registerCatalogRpc(admin, { skus: ['SKU-E'], locations: ['W1', 'S1'] });
  await admin.unary(m.receiveStock, {
    movementId: 'rcv-w1',
    sku: 'SKU-E',
    locationId: 'W1',
    quantity: 10n,
    reference: 'PO-1',
  });
  await admin.unary(m.receiveStock, { movementId: 'rcv-s1', sku: 'SKU-E', locationId: 'S1', quantity: 4n });
  await admin.unary(m.recordSale, {
    movementId: 'sale-s1',
    sku: 'SKU-E',
    locationId: 'S1',
    quantity: 1n,
    reference: 'T-9',
  });
  await admin.unary(m.receiveStock, { movementId: 'rcv-w1-2', sku: 'SKU-E', locationId: 'W1', quantity: 5n });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await core?.stop();
  await db?.drop();
});

describe('audit and time travel over gRPC', () => {
  it('lists movements newest first and pages them; GetStockAt at a movement’s recorded_at answers the levels right after it', async () => {
    const auditor = await clientAs(['auditor']);
    const all = await auditor.unary(m.listMovements, {});
    expect(all.movements.map((x) => x.causationId)).toEqual(['rcv-w1-2', 'sale-s1', 'rcv-s1', 'rcv-w1']);
    expect(all.movements[1]).toMatchObject({
      eventType: 'stockmind.stock.stock_sold.v1',
      channel: Channel.POS,
      operator: 'admin-1',
      reference: 'T-9',
      quantity: 1n,
      streamVersion: 2n,
    });
    expect(all.movements[1]?.levelsAfter).toMatchObject({ onHand: 3n, available: 3n, version: 2n });

    const first = await auditor.unary(m.listMovements, { pageSize: 3 });
    const rest = await auditor.unary(m.listMovements, { pageSize: 3, pageToken: first.nextPageToken });
    expect([...first.movements, ...rest.movements].map((x) => x.eventId)).toEqual(all.movements.map((x) => x.eventId));
    expect(rest.nextPageToken).toBe('');

    const receipt = all.movements[3];
    const { levels } = await auditor.unary(m.getStockAt, {
      keys: [{ sku: 'SKU-E', locationId: 'W1' }],
      at: receipt?.recordedAt,
      basis: TimeBasis.OCCURRED,
    });
    expect(levels[0]).toMatchObject({ onHand: 10n, version: 1n, asOf: receipt?.recordedAt });
    const byLocation = await auditor.unary(m.getStockAt, { locationId: 'S1', at: all.movements[0]?.recordedAt });
    expect(byLocation.levels.map((l) => [l.sku, l.onHand, l.version])).toEqual([['SKU-E', 3n, 2n]]);
  });

  it('answers INVALID_ARGUMENT naming page_token or at', async () => {
    const auditor = await clientAs(['auditor']);
    const bad = await failure(auditor.unary(m.listMovements, { pageToken: 'nope' }));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(errorDetails(bad).badRequest?.fieldViolations.map((v) => v.field)).toEqual(['page_token']);
    const future = await failure(
      auditor.unary(m.getStockAt, {
        keys: [{ sku: 'SKU-E', locationId: 'W1' }],
        at: { seconds: BigInt(Math.floor(Date.now() / 1000) + 3600) },
      }),
    );
    expect(future.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(errorDetails(future).badRequest?.fieldViolations.map((v) => v.field)).toEqual(['at']);
  });

  it('lets store staff audit only their own locations, and never a channel service', async () => {
    const staff = await clientAs(['store_staff'], ['S1']);
    const own = await staff.unary(m.listMovements, { locationId: 'S1' });
    expect(own.movements.map((x) => x.locationId)).toEqual(['S1', 'S1']);
    expect((await failure(staff.unary(m.listMovements, {}))).code).toBe(grpc.status.PERMISSION_DENIED);
    expect(
      (await failure(staff.unary(m.getStockAt, { keys: [{ sku: 'SKU-E', locationId: 'W1' }], at: { seconds: 1n } })))
        .code,
    ).toBe(grpc.status.PERMISSION_DENIED);
    const service = await clientAs(['channel_service']);
    expect((await failure(service.unary(m.listMovements, { locationId: 'S1' }))).code).toBe(
      grpc.status.PERMISSION_DENIED,
    );
  });
});
