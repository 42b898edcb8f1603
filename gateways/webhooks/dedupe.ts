// Dedupe by the marketplace's event id. The first delivery claims the id; the
// outcome is recorded once the core accepted or refused, and a redelivery gets
// that outcome back. When the core could not answer, the claim is removed so
// the marketplace's retry runs the command again (the core is idempotent by
// reservation id, so a retry after a lost answer is safe).
import type pg from 'pg';

export type StoredAnswer = { httpStatus: number; body: unknown };

export type Claim =
  | { kind: 'claimed' }
  | { kind: 'answered'; answer: StoredAnswer }
  | { kind: 'in_progress' }
  | { kind: 'body_mismatch' };

export type EventRef = { tenantId: string; marketplace: string; eventId: string };

/** A claim older than this belongs to a gateway that died mid-request; another may take it over. */
const STALE_CLAIM_SECONDS = 60;

export const claimEvent = async (db: pg.Pool, e: EventRef, bodyHash: string): Promise<Claim> => {
  const claimed = await db.query({
    name: 'wh_claim',
    text: `insert into marketplace_events (tenant_id, marketplace, event_id, body_hash, status) values ($1, $2, $3, $4, 'processing')
           on conflict (tenant_id, marketplace, event_id) do update set claimed_at = now()
             where marketplace_events.status = 'processing' and marketplace_events.body_hash = excluded.body_hash
               and marketplace_events.claimed_at < now() - make_interval(secs => $5)
           returning 1`,
    values: [e.tenantId, e.marketplace, e.eventId, bodyHash, STALE_CLAIM_SECONDS],
  });
  if (claimed.rowCount === 1) return { kind: 'claimed' };
  const { rows } = await db.query<{ status: string; body_hash: string; http_status: number | null; response: unknown }>(
    {
      name: 'wh_claim_read',
      text: 'select status, body_hash, http_status, response from marketplace_events where tenant_id = $1 and marketplace = $2 and event_id = $3',
      values: [e.tenantId, e.marketplace, e.eventId],
    },
  );
  const row = rows[0];
  // Released between the two statements: the caller's retry claims it.
  if (row === undefined) return { kind: 'in_progress' };
  if (row.body_hash !== bodyHash) return { kind: 'body_mismatch' };
  if (row.status === 'done' && row.http_status !== null)
    return { kind: 'answered', answer: { httpStatus: row.http_status, body: row.response } };
  return { kind: 'in_progress' };
};

export const recordAnswer = async (db: pg.Pool, e: EventRef, answer: StoredAnswer): Promise<void> => {
  await db.query({
    name: 'wh_answer',
    text: `update marketplace_events set status = 'done', http_status = $4, response = $5, completed_at = now()
           where tenant_id = $1 and marketplace = $2 and event_id = $3`,
    values: [e.tenantId, e.marketplace, e.eventId, answer.httpStatus, JSON.stringify(answer.body)],
  });
};

export const releaseClaim = async (db: pg.Pool, e: EventRef): Promise<void> => {
  await db.query({
    name: 'wh_release',
    text: `delete from marketplace_events where tenant_id = $1 and marketplace = $2 and event_id = $3 and status = 'processing'`,
    values: [e.tenantId, e.marketplace, e.eventId],
  });
};
