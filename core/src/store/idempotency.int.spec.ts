// Idempotency keys against a real Postgres: same id + same request replays the
// stored answer, same id + other request conflicts, a rolled-back claim leaves
// the id free, and a concurrent duplicate waits for the first and replays it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/support/db.js';
import { claimKey } from './idempotency.js';
import type pg from 'pg';
import type { TestDatabase } from '../../../test/support/db.js';
import type { Claim } from './idempotency.js';
import { eventually } from '../../../test/support/wait.js';

/** What the command's append does with AppendOptions.idempotency. */
const recordResponse = async (c: pg.ClientBase, tenantId: string, scope: string, key: string, response: unknown) => {
  await c.query('update idempotency_keys set response = $4 where tenant_id = $1 and scope = $2 and key = $3', [
    tenantId,
    scope,
    key,
    JSON.stringify(response),
  ]);
};

const TENANT = 'acme';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('store_idempotency');
});

afterAll(async () => {
  await db?.drop();
});

/** Runs `work` in its own transaction on its own client and commits. */
const committed = async <T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> => {
  const c = await db.pool.connect();
  try {
    await c.query('begin');
    const value = await work(c);
    await c.query('commit');
    return value;
  } catch (err) {
    await c.query('rollback');
    throw err;
  } finally {
    c.release();
  }
};

const claim = (key: string, hash: string, tenant = TENANT): Promise<Claim> =>
  committed((c) => claimKey(c, tenant, 'reservation', key, hash));

const keyRows = async (key: string): Promise<number> => {
  const { rows } = await db.pool.query<{ n: string }>('select count(*) as n from idempotency_keys where key = $1', [
    key,
  ]);
  return Number(rows[0]?.n);
};

describe('idempotency keys', () => {
  const response = { reservationId: 'res-1', status: 'PENDING', lines: [{ sku: 'sku-1', quantity: 2 }] };

  it('replays the stored response for the same request and conflicts for another', async () => {
    const first = await committed(async (c) => {
      const claimed = await claimKey(c, TENANT, 'reservation', 'res-1', 'hash-a');
      await recordResponse(c, TENANT, 'reservation', 'res-1', response);
      return claimed;
    });
    expect(first).toEqual({ kind: 'claimed' });

    expect(await claim('res-1', 'hash-a')).toEqual({ kind: 'replay', response });
    expect(await claim('res-1', 'hash-b')).toEqual({ kind: 'conflict' });
    expect(await keyRows('res-1')).toBe(1);
  });

  it('scopes keys by tenant and by scope', async () => {
    await claim('shared-id', 'hash-a');
    expect(await claim('shared-id', 'hash-b', 'other-tenant')).toEqual({ kind: 'claimed' });
    expect(await committed((c) => claimKey(c, TENANT, 'movement', 'shared-id', 'hash-b'))).toEqual({ kind: 'claimed' });
  });

  it('leaves no row when the claiming transaction rolls back, so the id can be retried', async () => {
    const c = await db.pool.connect();
    try {
      await c.query('begin');
      expect(await claimKey(c, TENANT, 'reservation', 'res-refused', 'hash-a')).toEqual({ kind: 'claimed' });
      await c.query('rollback');
    } finally {
      c.release();
    }
    expect(await keyRows('res-refused')).toBe(0);
    // A retry, even with another request, is a fresh claim.
    expect(await claim('res-refused', 'hash-b')).toEqual({ kind: 'claimed' });
  });

  describe('a concurrent duplicate', () => {
    /** The first claims and holds its transaction open; the second claims meanwhile on another client. */
    const race = async (key: string, finishFirst: (c: pg.PoolClient) => Promise<void>) => {
      const first = await db.pool.connect();
      const second = await db.pool.connect();
      try {
        await first.query('begin');
        expect(await claimKey(first, TENANT, 'reservation', key, 'hash-a')).toEqual({ kind: 'claimed' });
        const { rows } = await second.query<{ pid: number }>('select pg_backend_pid() as pid');
        await second.query('begin');
        let settled = false;
        const duplicate = claimKey(second, TENANT, 'reservation', key, 'hash-a').finally(() => {
          settled = true;
        });
        // The marker: the second backend is seen waiting (for a lock) while the first stays open.
        const waiting = await eventually(async () => {
          const r = await db.pool.query<{ wait_event_type: string | null }>(
            'select wait_event_type from pg_stat_activity where pid = $1',
            [rows[0]?.pid],
          );
          if (r.rows[0]?.wait_event_type !== 'Lock' && !settled) throw new Error('the duplicate is not waiting yet');
          return r;
        });
        const pendingWhileFirstOpen = !settled;
        await finishFirst(first);
        const outcome = await duplicate;
        await second.query('commit');
        return { pendingWhileFirstOpen, waitedOn: waiting.rows[0]?.wait_event_type, outcome };
      } finally {
        first.release();
        second.release();
      }
    };

    it('waits for the first to commit, then replays its response', async () => {
      const { pendingWhileFirstOpen, waitedOn, outcome } = await race('res-dup', async (c) => {
        await recordResponse(c, TENANT, 'reservation', 'res-dup', response);
        await c.query('commit');
      });
      expect(pendingWhileFirstOpen).toBe(true);
      expect(waitedOn).toBe('Lock');
      expect(outcome).toEqual({ kind: 'replay', response });
      expect(await keyRows('res-dup')).toBe(1);
    });

    it('takes over the claim when the first rolls back', async () => {
      const { pendingWhileFirstOpen, waitedOn, outcome } = await race('res-dup-refused', async (c) => {
        await c.query('rollback');
      });
      expect(pendingWhileFirstOpen).toBe(true);
      expect(waitedOn).toBe('Lock');
      expect(outcome).toEqual({ kind: 'claimed' });
      expect(await keyRows('res-dup-refused')).toBe(1);
    });
  });
});
