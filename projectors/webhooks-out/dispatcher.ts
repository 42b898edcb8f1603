// Delivers pending deliveries. Per subscription only the head of the queue
// (lowest stream_seq still pending) is attempted, so a subscription's next
// event waits until the previous one was delivered or dead-lettered. A head is
// claimed with a lease (a short update, no transaction held across the HTTP
// call), so several webhooks-out processes can run side by side.
import { postWebhook } from './send.js';
import { signatureHeaderValue, OUT_SIGNATURE_HEADER } from './signature.js';
import { DELIVERY_FAILED, recordDeliveryFailed } from './failedEvents.js';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { AttemptResult } from './send.js';
import type { WebhooksOutSettings } from './settings.js';

type Claimed = {
  delivery_id: string;
  subscription_id: string;
  tenant_id: string;
  event_id: string;
  event_type: string;
  body: string;
  attempts: number;
  url: string;
  secret: string;
};

export type Verdict = { outcome: 'delivered' | 'retry' | 'dead'; statusCode: number | null; error: string | null };

/**
 * 2xx: delivered. 408, 429, 5xx, timeouts and connection errors: retried on the
 * schedule, then dead. Any other answer (3xx, 4xx) is the partner saying the
 * request itself is wrong; repeating it cannot help: dead at once.
 */
export const judge = (r: AttemptResult, attempt: number, scheduleLength: number): Verdict => {
  const retryable = attempt <= scheduleLength;
  if (r.kind === 'response') {
    if (r.statusCode >= 200 && r.statusCode < 300)
      return { outcome: 'delivered', statusCode: r.statusCode, error: null };
    const transient = r.statusCode >= 500 || r.statusCode === 408 || r.statusCode === 429;
    const error = `HTTP ${r.statusCode}${r.snippet === '' ? '' : `: ${r.snippet.slice(0, 200)}`}`;
    return { outcome: transient && retryable ? 'retry' : 'dead', statusCode: r.statusCode, error };
  }
  if (r.kind === 'refused') return { outcome: 'dead', statusCode: null, error: `refused: ${r.error}` };
  return { outcome: retryable ? 'retry' : 'dead', statusCode: null, error: r.error };
};

const CLAIM = `with heads as (
    select distinct on (subscription_id) delivery_id
    from webhook_deliveries
    where status = 'pending'
    order by subscription_id, stream_seq
  )
  update webhook_deliveries d
  set lease_holder = $1, lease_until = now() + make_interval(secs => $2)
  from heads, webhook_subscriptions s
  where d.delivery_id = heads.delivery_id and s.subscription_id = d.subscription_id and s.deleted_at is null
    and d.next_attempt_at <= now() and (d.lease_until is null or d.lease_until < now())
  returning d.delivery_id, d.subscription_id, d.tenant_id, d.event_id, d.event_type, d.body, d.attempts, s.url, s.secret`;

export type Dispatcher = { wake(): void; stop(): Promise<void> };

export const startDispatcher = (o: {
  pool: pg.Pool;
  settings: WebhooksOutSettings;
  holder: string;
  log: Logger;
  /** Called after a delivery_failed event was recorded (to publish it promptly). */
  onDeliveryFailed?: () => void;
  /** Called once per recorded attempt with its verdict: webhook_delivery_attempts_total{outcome}. */
  onAttempt?: (outcome: Verdict['outcome']) => void;
}): Dispatcher => {
  const leaseSeconds = Math.ceil(o.settings.timeoutMs / 1000) + 30;
  let running = true;
  let wakeUp: () => void = () => undefined;
  let woken = false;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken) {
        woken = false;
        resolve();
        return;
      }
      const t = setTimeout(resolve, ms);
      wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    });

  const record = async (
    d: Claimed,
    attempt: number,
    startedAt: Date,
    durationMs: number,
    v: Verdict,
  ): Promise<void> => {
    const client = await o.pool.connect();
    try {
      await client.query('begin');
      await client.query(
        `insert into webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error, outcome) values ($1, $2, $3, $4, $5, $6, $7)`,
        [d.delivery_id, attempt, startedAt, durationMs, v.statusCode, v.error?.slice(0, 1000) ?? null, v.outcome],
      );
      const delayMs = v.outcome === 'retry' ? (o.settings.retryScheduleMs[attempt - 1] ?? 0) : 0;
      const moved = await client.query(
        `update webhook_deliveries
         set attempts = $3, status = $4, last_error = $5, lease_holder = null, lease_until = null,
             next_attempt_at = now() + make_interval(secs => $6::double precision / 1000),
             finished_at = case when $4 = 'pending' then null else now() end
         where delivery_id = $1 and lease_holder = $2 and status = 'pending'`,
        [d.delivery_id, o.holder, attempt, v.outcome === 'retry' ? 'pending' : v.outcome, v.error, delayMs],
      );
      if (moved.rowCount !== 1) {
        // Our lease ran out (or the subscription was deleted) meanwhile: another holder owns the delivery now.
        await client.query('rollback');
        o.log.warn({ deliveryId: d.delivery_id }, 'delivery lease lost before recording; the attempt is not recorded');
        return;
      }
      // A failed delivery of a delivery_failed event raises no further event (no chain of failures).
      o.onAttempt?.(v.outcome);
      const failed = v.outcome === 'dead' && d.event_type !== DELIVERY_FAILED;
      if (failed) {
        await recordDeliveryFailed(client, d.tenant_id, {
          subscriptionId: d.subscription_id,
          deliveryId: d.delivery_id,
          url: d.url,
          eventId: d.event_id,
          eventType: d.event_type,
          attempts: attempt,
          lastStatusCode: v.statusCode,
          lastError: v.error ?? '',
        });
      }
      await client.query('commit');
      const fields = {
        tenant: d.tenant_id,
        subscriptionId: d.subscription_id,
        deliveryId: d.delivery_id,
        eventType: d.event_type,
        attempt,
        statusCode: v.statusCode,
      };
      if (v.outcome === 'dead') o.log.warn({ ...fields, error: v.error }, 'webhook delivery dead-lettered');
      else if (v.outcome === 'retry')
        o.log.info({ ...fields, error: v.error, retryInMs: delayMs }, 'webhook delivery failed; will retry');
      else o.log.debug(fields, 'webhook delivered');
      if (failed) o.onDeliveryFailed?.();
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  };

  const attemptOne = async (d: Claimed): Promise<void> => {
    const attempt = d.attempts + 1;
    const startedAt = new Date();
    const t0 = performance.now();
    const result = await postWebhook({
      url: d.url,
      body: d.body,
      timeoutMs: o.settings.timeoutMs,
      allowPrivate: o.settings.allowPrivateTargets,
      headers: {
        [OUT_SIGNATURE_HEADER]: signatureHeaderValue(d.secret, d.body, Math.floor(Date.now() / 1000)),
        'x-stockmind-event-id': d.event_id,
        'x-stockmind-event-type': d.event_type,
        'x-stockmind-delivery-id': d.delivery_id,
        'x-stockmind-attempt': String(attempt),
        'user-agent': 'StockMind-Webhooks/1',
      },
    });
    const verdict = judge(result, attempt, o.settings.retryScheduleMs.length);
    await record(d, attempt, startedAt, Math.round(performance.now() - t0), verdict);
  };

  const loop = (async () => {
    while (running) {
      let claimed: Claimed[] = [];
      try {
        claimed = (await o.pool.query<Claimed>({ name: 'wo_claim', text: CLAIM, values: [o.holder, leaseSeconds] }))
          .rows;
        // Different subscriptions in parallel; each subscription has at most one here (its head).
        const results = await Promise.allSettled(claimed.map(attemptOne));
        for (const r of results)
          if (r.status === 'rejected')
            o.log.warn({ err: String(r.reason) }, 'webhook attempt not recorded; retried after the lease');
      } catch (err) {
        o.log.warn({ err: (err as Error).message }, 'webhook dispatcher cannot reach Postgres; retrying');
      }
      if (claimed.length === 0) await sleep(o.settings.pollMs);
    }
  })();

  return {
    wake() {
      woken = true;
      wakeUp();
    },
    async stop() {
      running = false;
      wakeUp();
      await loop;
    },
  };
};
