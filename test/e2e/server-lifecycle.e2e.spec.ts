// One running core, real clients: a client deadline commits nothing, shutdown finishes what is in
// flight, and start-up configuration errors say what to fix.
import { describe, expect, it } from 'vitest';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { ReservationStatus } from '../../gen/stockmind/inventory/v1/reservations_pb.js';
import { Channel, Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { coreForSpec, failure } from '../support/core.js';
import { acceptsConnections } from '../support/servers.js';
import { runCli } from '../support/cli.js';
import { tokenFor } from '../support/tokens.js';
import { eventually } from '../support/wait.js';
import type { Catalog } from '../support/core.js';

const m = InventoryService.method;

/**
 * The products and locations each tenant moves stock of below, registered before any write (writes to
 * an unknown SKU or location answer NOT_FOUND).
 */
const CATALOG: Catalog = {
  acme: { skus: ['SKU-PROTO', 'SKU-CLI'], locations: ['W1', 'W9'] },
  deadline: { skus: ['SKU-DL'], locations: ['W1'] },
  shutdown: { skus: ['SKU-SD'], locations: ['W1'] },
};

describe('the core server', () => {
  const h = coreForSpec('e2e_server_lifecycle', CATALOG);
  const grpcClient = (tok?: string, at?: string) => h().grpcClient(tok, at);

  describe('client deadline', () => {
    it('answers DEADLINE_EXCEEDED while the stock row is locked, commits nothing, and frees the id', async () => {
      const tenant = 'deadline';
      const admin = grpcClient(await tokenFor(tenant));
      const key = { sku: 'SKU-DL', locationId: 'W1' };
      await admin.unary(m.receiveStock, { movementId: 'dl-rcv', ...key, quantity: 10n });
      const before = (await admin.unary(m.queryStock, { keys: [key], consistency: Consistency.STRONG })).levels[0];

      const blocker = await h().db.pool.connect();
      try {
        await blocker.query('begin');
        const locked = await blocker.query(
          `select stream_id from streams where tenant_id = $1 and kind = 'stock_item' and location_id = $2 and sku = $3 for update`,
          [tenant, key.locationId, key.sku],
        );
        expect(locked.rowCount).toBe(1);
        const err = await failure(
          admin.unary(
            m.reserveStock,
            { reservationId: 'dl-1', channel: Channel.ECOMMERCE, lines: [{ ...key, quantity: 4n }] },
            { deadlineMs: 300 },
          ),
        );
        expect(err.code).toBe(4);
      } finally {
        await blocker.query('rollback');
        blocker.release();
      }
      // The blocked command now gets its lock; it must notice the caller left and roll back. Row locks
      // are granted in the order they were asked for: once this one is granted, that command is done.
      await h().db.pool.query(
        `select stream_id from streams where tenant_id = $1 and kind = 'stock_item' and location_id = $2 and sku = $3 for update`,
        [tenant, key.locationId, key.sku],
      );

      const events = await h().db.pool.query<{ n: string }>(
        `select count(*) as n from events e join streams s on s.stream_id = e.stream_id
          where s.tenant_id = $1 and (s.reservation_id = 'dl-1' or (s.kind = 'stock_item' and s.sku = $2 and e.version > 1))`,
        [tenant, key.sku],
      );
      expect(Number(events.rows[0]?.n)).toBe(0);
      expect((await failure(admin.unary(m.getReservation, { reservationId: 'dl-1' }))).code).toBe(5);
      const after = (await admin.unary(m.queryStock, { keys: [key], consistency: Consistency.STRONG })).levels[0];
      expect({ onHand: after?.onHand, reserved: after?.reserved, version: after?.version }).toEqual({
        onHand: before?.onHand,
        reserved: 0n,
        version: before?.version,
      });

      const retry = await admin.unary(m.reserveStock, {
        reservationId: 'dl-1',
        channel: Channel.ECOMMERCE,
        lines: [{ ...key, quantity: 4n }],
      });
      expect(retry.reservation?.status).toBe(ReservationStatus.PENDING);
      const final = (await admin.unary(m.queryStock, { keys: [key], consistency: Consistency.STRONG })).levels[0];
      expect({ reserved: final?.reserved, available: final?.available }).toEqual({ reserved: 4n, available: 6n });
    });
  });

  describe('graceful shutdown', () => {
    /** Sessions of the spec database waiting for a lock. */
    const lockWaits = async () =>
      Number(
        (
          await h().db.pool.query<{ n: string }>(
            `select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
          )
        ).rows[0]?.n,
      );

    it('exits 0 on SIGTERM while a grpc-js client keeps its connection open', async () => {
      const other = await h().startAnother();
      const client = grpcClient(await tokenFor('acme'), `127.0.0.1:${other.port}`);
      await client.unary(m.queryStock, { keys: [{ sku: 'SKU-PROTO', locationId: 'W1' }] });
      const t0 = performance.now();
      const code = await other.stop('SIGTERM');
      expect(code).toBe(0);
      expect(performance.now() - t0).toBeLessThan(12_000);
      expect(other.output()).not.toMatch(/"level":(50|60)/);
    });

    it('does not wait out the grace period for an idle HTTP/1.1 keep-alive client', async () => {
      const other = await h().startAnother();
      // fetch keeps the connection open after the answer (keep-alive), like a browser or a REST gateway.
      const res = await fetch(`${other.url}/grpc.health.v1.Health/Check`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(await res.json()).toEqual({ status: 'SERVING' });
      const t0 = performance.now();
      expect(await other.stop('SIGTERM')).toBe(0);
      expect(performance.now() - t0).toBeLessThan(5_000); // the grace period is 10 s
    });

    it('finishes a call in flight before it exits', async () => {
      const other = await h().startAnother();
      const tenant = 'shutdown';
      const client = grpcClient(await tokenFor(tenant), `127.0.0.1:${other.port}`);
      const key = { sku: 'SKU-SD', locationId: 'W1' };
      await client.unary(m.receiveStock, { movementId: 'sd-rcv', ...key, quantity: 2n });

      const blocker = await h().db.pool.connect();
      let inFlight: Promise<unknown>;
      let exited: Promise<number | null>;
      try {
        await blocker.query('begin');
        await blocker.query(
          `select 1 from streams where tenant_id = $1 and kind = 'stock_item' and sku = $2 for update`,
          [tenant, key.sku],
        );
        inFlight = client.unary(m.reserveStock, {
          reservationId: 'sd-1',
          channel: Channel.POS,
          lines: [{ ...key, quantity: 1n }],
        });
        // The call waits for the row lock, then the core is told to stop and closes its port.
        await eventually(async () => expect(await lockWaits()).toBe(1), 5_000);
        exited = other.stop('SIGTERM');
        await eventually(async () => expect(await acceptsConnections(other.port)).toBe(false), 5_000);
      } finally {
        await blocker.query('rollback');
        blocker.release();
      }
      await expect(inFlight).resolves.toMatchObject({
        reservation: { reservationId: 'sd-1', status: ReservationStatus.PENDING },
      });
      expect(await exited).toBe(0);
    });
  });

  // Each test runs its own short-lived process: run them side by side.

  describe.concurrent('configuration', () => {
    it('refuses to start in production without STOCKMIND_JWT_SECRET', async ({ expect }) => {
      const r = await runCli(['core'], {
        ...h().env(),
        NODE_ENV: 'production',
        STOCKMIND_JWT_SECRET: undefined,
        CORE_PORT: '0',
      });
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr, r.stderr).toContain('STOCKMIND_JWT_SECRET');
      expect(r.stdout).not.toContain('listening');
    });

    it('refuses a CORE_PORT that is not a port, naming it', async ({ expect }) => {
      const r = await runCli(['core'], { ...h().env(), NODE_ENV: 'test', CORE_PORT: 'notaport' });
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr, r.stderr).toContain('CORE_PORT');
      expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    });

    it('treats an empty CORE_PORT as unset (the default 50051), not as a random port', async ({ expect }) => {
      // 192.0.2.1 (TEST-NET) is not a local h().address: the listen fails and names the port it tried,
      // without taking 50051 on this machine; where it is allowed, the core says where it listens.
      const r = await runCli(
        ['core'],
        { ...h().env(), NODE_ENV: 'test', CORE_PORT: '', CORE_HOST: '192.0.2.1' },
        /listening on/,
      );
      expect(`${r.stdout}${r.stderr}`).toContain('192.0.2.1:50051');
    });

    it('says which port is taken when CORE_PORT is in use, without a stack trace', async ({ expect }) => {
      const r = await runCli(['core'], { ...h().env(), NODE_ENV: 'test', CORE_PORT: String(h().core.port) });
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr, r.stderr).toContain('EADDRINUSE');
      expect(r.stderr, r.stderr).toContain('CORE_PORT');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });

    it('says Postgres is unreachable, naming DATABASE_URL, without a stack trace', async ({ expect }) => {
      const r = await runCli(['core'], {
        ...h().env(),
        NODE_ENV: 'test',
        CORE_PORT: '0',
        DATABASE_URL: 'postgres://postgres@127.0.0.1:1/stockmind',
      });
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr, r.stderr).toContain('DATABASE_URL');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });

    it('prints a token the core accepts as the last line of stdout', async ({ expect }) => {
      const r = await runCli(['token', '--tenant', 'acme', '--roles', 'admin'], {
        NODE_ENV: 'test',
        STOCKMIND_JWT_SECRET: undefined,
      });
      expect(r.code, r.stderr).toBe(0);
      const last = r.stdout.trim().split('\n').pop() ?? '';
      expect(last).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      const cli = grpcClient(last);
      await cli.unary(m.receiveStock, { movementId: 'cli-token-1', sku: 'SKU-CLI', locationId: 'W9', quantity: 3n });
      const { levels } = await grpcClient(await tokenFor('acme', { roles: ['auditor'] })).unary(m.queryStock, {
        keys: [{ sku: 'SKU-CLI', locationId: 'W9' }],
        consistency: Consistency.STRONG,
      });
      expect(levels[0]?.onHand).toBe(3n); // the CLI token acted as an admin of tenant acme
    });

    it('refuses an unknown role', async ({ expect }) => {
      const r = await runCli(['token', '--tenant', 'acme', '--roles', 'wizard'], { NODE_ENV: 'test' });
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr, r.stderr).toContain('--roles');
      expect(r.stdout.trim()).toBe('');
    });

    it('refuses a --ttl over a day, saying the bound', async ({ expect }) => {
      const r = await runCli(['token', '--tenant', 'acme', '--roles', 'admin', '--ttl', '2592000'], {
        NODE_ENV: 'test',
      });
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr).toContain('--ttl must be 1 to 86400 seconds');
      expect(r.stdout.trim()).toBe('');
    });
  });
});
