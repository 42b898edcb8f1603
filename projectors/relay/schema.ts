// The relay's tables: its lease (one active relay per name) and its checkpoint in commit order.
import type { Schema } from '../../platform/postgres/migrate.js';

export const RELAY_SCHEMA: Schema = {
  part: 'relay',
  legacy: { 2: 1 },
  migrations: [
    {
      version: 1,
      name: 'relay lease and checkpoint',
      sql: `
      -- One active relay per name; the holder renews, a standby takes over after expiry.
      create table relay_leases (
        name text primary key,
        holder text not null,
        expires_at timestamptz not null
      );
      -- Where the relay is in commit order; moved only after the broker acknowledged.
      create table relay_checkpoints (
        name text primary key,
        tx_id xid8 not null,
        position bigint not null,
        updated_at timestamptz not null
      );
`,
    },
  ],
};
