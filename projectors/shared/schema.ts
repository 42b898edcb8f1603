// What every durable consumer shares: the dead-letter record of messages it could not apply.
import type { Schema } from '../../platform/postgres/migrate.js';

export const CONSUMERS_SCHEMA: Schema = {
  part: 'consumers',
  legacy: { 2: 1 },
  migrations: [
    {
      version: 1,
      name: 'dead letters',
      sql: `
      -- Messages a projector could not apply after a bounded number of deliveries.
      create table dead_letters (
        id bigint generated always as identity primary key,
        consumer text not null,
        subject text not null,
        stream_sequence bigint not null,
        deliveries integer not null,
        payload text not null,
        error text not null,
        recorded_at timestamptz not null default now()
      );
    `,
    },
  ],
};
