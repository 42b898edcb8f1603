// Where each transfer goes, written with its dispatch: ReceiveTransfer needs only the id.
import type pg from 'pg';

export type TransferRow = {
  transferId: string;
  sku: string;
  fromLocationId: string;
  toLocationId: string;
  dispatchedAt: Date;
};

export const recordTransfer = async (client: pg.ClientBase, tenantId: string, t: TransferRow): Promise<void> => {
  await client.query({
    name: 'sm_transfer_insert',
    text: `insert into transfers (tenant_id, transfer_id, sku, from_location_id, to_location_id, dispatched_at)
           values ($1, $2, $3, $4, $5, $6)`,
    values: [tenantId, t.transferId, t.sku, t.fromLocationId, t.toLocationId, t.dispatchedAt],
  });
};

export const readTransfer = async (
  db: pg.Pool | pg.ClientBase,
  tenantId: string,
  transferId: string,
): Promise<TransferRow | null> => {
  const { rows } = await db.query({
    name: 'sm_transfer_read',
    text: 'select transfer_id, sku, from_location_id, to_location_id, dispatched_at from transfers where tenant_id = $1 and transfer_id = $2',
    values: [tenantId, transferId],
  });
  const r = rows[0];
  return r === undefined
    ? null
    : {
        transferId: r.transfer_id,
        sku: r.sku,
        fromLocationId: r.from_location_id,
        toLocationId: r.to_location_id,
        dispatchedAt: r.dispatched_at,
      };
};
