// Idempotency records. The key row is inserted first in the command's
// transaction: a concurrent duplicate blocks on it, then sees the committed
// original. Refusals roll the row back, so the same id may be retried. The
// answer to replay is written with the command's append (AppendOptions).
import type pg from 'pg';

export type IdempotencyScope = 'reservation' | 'movement' | 'transfer';

export type Claim = { kind: 'claimed' } | { kind: 'replay'; response: unknown } | { kind: 'conflict' };

export const claimKey = async (
  client: pg.ClientBase,
  tenantId: string,
  scope: IdempotencyScope,
  key: string,
  requestHash: string,
): Promise<Claim> => {
  const inserted = await client.query({
    name: 'sm_idem_claim',
    text: `insert into idempotency_keys (tenant_id, scope, key, request_hash) values ($1, $2, $3, $4)
           on conflict do nothing returning 1`,
    values: [tenantId, scope, key, requestHash],
  });
  if (inserted.rowCount === 1) return { kind: 'claimed' };
  const { rows } = await client.query<{ request_hash: string; response: unknown }>({
    name: 'sm_idem_read',
    text: 'select request_hash, response from idempotency_keys where tenant_id = $1 and scope = $2 and key = $3',
    values: [tenantId, scope, key],
  });
  const row = rows[0];
  if (row === undefined) return { kind: 'conflict' };
  return row.request_hash === requestHash ? { kind: 'replay', response: row.response } : { kind: 'conflict' };
};
