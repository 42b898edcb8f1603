import { describe, expect, it } from 'vitest';
import { judge } from './dispatcher.js';
import { loadWebhooksOutSettings, parseSchedule } from './settings.js';
import { matchesEventType } from './subscriptions.js';
import { signatureHeaderValue, verifyPartnerSignature } from './signature.js';

describe('retry rules', () => {
  const response = (statusCode: number) => ({ kind: 'response' as const, statusCode, snippet: '' });

  it('delivers on any 2xx', () => {
    expect(judge(response(204), 1, 5).outcome).toBe('delivered');
  });

  it('retries 5xx, 408, 429, timeouts and connection errors while the schedule lasts, then gives up', () => {
    for (const r of [
      response(500),
      response(503),
      response(408),
      response(429),
      { kind: 'timeout' as const, error: 't' },
      { kind: 'connection' as const, error: 'ECONNREFUSED' },
    ]) {
      expect(judge(r, 1, 5).outcome).toBe('retry');
      expect(judge(r, 5, 5).outcome).toBe('retry');
      expect(judge(r, 6, 5).outcome).toBe('dead');
    }
  });

  it('does not retry other 4xx or redirects, nor refused targets', () => {
    for (const r of [response(400), response(401), response(404), response(410), response(301)])
      expect(judge(r, 1, 5).outcome).toBe('dead');
    expect(judge({ kind: 'refused', error: 'private' }, 1, 5).outcome).toBe('dead');
  });
});

describe('retry schedule', () => {
  it('defaults to 30 s, 2 min, 5 min, 15 min, 30 min', () => {
    expect(loadWebhooksOutSettings({}).retryScheduleMs).toEqual([30_000, 120_000, 300_000, 900_000, 1_800_000]);
  });

  it('reads STOCKMIND_WEBHOOK_RETRY_SCHEDULE and names it when it is wrong', () => {
    expect(parseSchedule('200ms, 1s,2m')).toEqual([200, 1_000, 120_000]);
    expect(() => loadWebhooksOutSettings({ STOCKMIND_WEBHOOK_RETRY_SCHEDULE: '30 seconds' })).toThrow(
      /STOCKMIND_WEBHOOK_RETRY_SCHEDULE: "30 seconds" is not a delay/,
    );
    expect(() => loadWebhooksOutSettings({ STOCKMIND_WEBHOOK_RETRY_SCHEDULE: '' })).toThrow(
      /STOCKMIND_WEBHOOK_RETRY_SCHEDULE/,
    );
  });

  it('refuses private targets unless STOCKMIND_WEBHOOK_ALLOW_PRIVATE_TARGETS is set', () => {
    expect(loadWebhooksOutSettings({}).allowPrivateTargets).toBe(false);
    expect(loadWebhooksOutSettings({ STOCKMIND_WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' }).allowPrivateTargets).toBe(true);
  });
});

describe('event type patterns', () => {
  it('match exact names, prefixes ending in .* and *', () => {
    const t = 'stockmind.stock.stock_reserved.v1';
    expect(matchesEventType([t], t)).toBe(true);
    expect(matchesEventType(['stockmind.stock.*'], t)).toBe(true);
    expect(matchesEventType(['*'], t)).toBe(true);
    expect(matchesEventType(['stockmind.reservations.*', 'stockmind.stock.stock_received.v1'], t)).toBe(false);
  });
});

describe('outbound signature', () => {
  it('is verifiable by the partner with the subscription secret and a timestamp tolerance', () => {
    const header = signatureHeaderValue('whsec_p', '{"a":1}', 1_000);
    expect(header).toMatch(/^t=1000,v1=[0-9a-f]{64}$/);
    expect(verifyPartnerSignature('whsec_p', '{"a":1}', header, 1_100)).toBe(true);
    expect(verifyPartnerSignature('whsec_p', '{"a":2}', header, 1_100)).toBe(false);
    expect(verifyPartnerSignature('whsec_x', '{"a":1}', header, 1_100)).toBe(false);
    expect(verifyPartnerSignature('whsec_p', '{"a":1}', header, 1_400)).toBe(false);
  });
});
