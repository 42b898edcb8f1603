// NATS down (a private nats-server, killed and restarted on the same port and
// store directory by this spec) under a real `stockmind start` process: writes
// continue, events wait in Postgres, and after the restart the relay drains
// them, each stored once, and Redis catches up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../support/tokens.js';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { Channel, Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { availabilityKey } from '../../contracts/names.js';
import { connectNats } from '../../platform/nats.js';
import { createGrpcClient } from '../../loadtest/runner/grpcClient.js';
import { startStack } from '../support/edge.js';
import { registerCatalogRpc } from '../support/catalog.js';
import { eventually } from '../support/wait.js';
import { logLines } from '../support/log.js';
import { readStream, sharedRedis, streamMessageCount } from '../support/readside.js';
import { startPrivateNats } from '../support/servers.js';
import type { Redis } from 'ioredis';
import type { NatsConnection } from '@nats-io/transport-node';
import type { GrpcClient } from '../../loadtest/runner/grpcClient.js';
import type { Stack } from '../support/edge.js';
import type { ServerProcess } from '../support/servers.js';

const T = 'nats-down';
const m = InventoryService.method;
const key = { sku: 'SKU-N', locationId: 'W1' };
const RELAY_FAILED = 'relay step failed; retrying from the checkpoint';

let stack: Stack;
let nats: ServerProcess;
let nc: NatsConnection;
let redis: Redis;
let client: GrpcClient;

const eventCount = async () =>
  Number((await stack.db.pool.query<{ n: string }>('select count(*) as n from events')).rows[0]?.n);
const projectedVersion = async () =>
  Number(await redis.hget(availabilityKey(stack.namespace, T, key.locationId, key.sku), 'version'));
const reserve = (reservationId: string, quantity: bigint) =>
  client.unary(
    m.reserveStock,
    { reservationId, channel: Channel.ECOMMERCE, lines: [{ ...key, quantity }] },
    { deadlineMs: 5_000 },
  );

beforeAll(async () => {
  nats = await startPrivateNats();
  redis = sharedRedis('nats-down-spec');
  stack = await startStack('fault_nats', { NATS_URL: nats.url });
  nc = await connectNats(nats.url, 'nats-down-spec');
  const token = await tokenFor(T, { sub: 'nats-down' });
  client = createGrpcClient(InventoryService, `127.0.0.1:${stack.core.port}`, { token });
  await registerCatalogRpc(client, { skus: [key.sku], locations: [key.locationId] });
});

afterAll(async () => {
  client?.close();
  await stack?.stop();
  await nc?.close();
  await nats?.destroy();
  redis?.disconnect();
});

describe('NATS down', () => {
  it('keeps taking writes while NATS is down; the events wait in Postgres', async () => {
    await client.unary(m.receiveStock, { movementId: 'nd-recv-1', ...key, quantity: 10n });
    await reserve('nd-res-0', 1n);
    await eventually(async () => expect(await projectedVersion()).toBe(2), 10_000);
    expect(await streamMessageCount(nc, stack.namespace)).toBe(await eventCount());

    const failedBefore = logLines(stack.core.output(), RELAY_FAILED);
    await nats.stop('SIGKILL');
    for (let i = 1; i <= 3; i++) {
      const { reservation } = await reserve(`nd-res-${i}`, 1n);
      expect(reservation?.reservationId).toBe(`nd-res-${i}`);
    }
    await client.unary(m.receiveStock, { movementId: 'nd-recv-2', ...key, quantity: 5n }, { deadlineMs: 5_000 });
    const { levels } = await client.unary(m.queryStock, { keys: [key], consistency: Consistency.STRONG });
    expect(levels[0]).toMatchObject({ onHand: 15n, reserved: 4n, version: 6n });

    // The relay's checkpoint stays behind the ledger; the projection does not move. Its attempt to
    // publish these events has failed (it logs each failed step) before they are counted.
    await eventually(
      async () => expect(logLines(stack.core.output(), RELAY_FAILED)).toBeGreaterThan(failedBefore),
      20_000,
    );
    const { rows } = await stack.db.pool.query<{ behind: string }>(
      `select count(*) as behind from events e, relay_checkpoints c
       where c.name = $1 and (e.tx_id, e.global_position) > (c.tx_id, c.position)`,
      [stack.namespace],
    );
    expect(Number(rows[0]?.behind)).toBe(7);
    expect(await projectedVersion()).toBe(2);
  });

  it('drains every waiting event once NATS is back (each stored once, in ledger order), and Redis catches up', async () => {
    await nats.start();
    await eventually(
      async () => expect(await streamMessageCount(nc, stack.namespace)).toBe(await eventCount()),
      20_000,
      200,
    );
    const stored = await readStream(nc, stack.namespace);
    const ledger = (
      await stack.db.pool.query<{ event_id: string }>('select event_id from events order by tx_id, global_position')
    ).rows.map((r) => r.event_id);
    expect(stored.map((s) => s.envelope.eventId)).toEqual(ledger);
    await eventually(async () => expect(await projectedVersion()).toBe(6), 20_000, 200);
    const { levels } = await client.unary(m.queryStock, { keys: [key], consistency: Consistency.EVENTUAL });
    expect(levels[0]).toMatchObject({ onHand: 15n, reserved: 4n, version: 6n, stale: false });
  });
});
