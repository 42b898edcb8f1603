import { readFile, readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { fromJson } from '@bufbuild/protobuf';
import {
  ConfigError,
  TOKEN_PLACEHOLDER,
  needsToken,
  parseConfig,
  parseGoDuration,
  splitCall,
  substituteToken,
} from './config.js';
import { buildRequest } from './drive.js';
import { findMethod, parseCli } from './main.js';
import { ReserveStockRequestSchema } from '../../gen/stockmind/inventory/v1/reservations_pb.js';
import { Channel, Consistency } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import type { ReserveStockRequest } from '../../gen/stockmind/inventory/v1/reservations_pb.js';
import type { QueryStockRequest } from '../../gen/stockmind/inventory/v1/stock_pb.js';

const GHZ_DIR = new URL('../ghz/', import.meta.url);
const load = async (name: string): Promise<unknown> =>
  JSON.parse(await readFile(new URL(name, GHZ_DIR), 'utf8')) as unknown;
const at = (n: number) => ({
  requestNumber: n,
  workerId: 'w',
  now: new Date(),
  call: {
    fullyQualifiedName: '',
    methodName: '',
    serviceName: '',
    inputName: '',
    outputName: '',
    isClientStreaming: false,
    isServerStreaming: false,
  },
});

describe('Go durations', () => {
  it('parses what ghz accepts', () => {
    expect(parseGoDuration('10s')).toBe(10e9);
    expect(parseGoDuration('200ms')).toBe(200e6);
    expect(parseGoDuration('1m30s')).toBe(90e9);
    expect(parseGoDuration('1.5s')).toBe(1.5e9);
    expect(parseGoDuration('250us')).toBe(250e3);
    expect(parseGoDuration('0')).toBe(0);
  });
  it('refuses a number without a unit and trailing garbage', () => {
    expect(() => parseGoDuration('10')).toThrow(ConfigError);
    expect(() => parseGoDuration('10s!')).toThrow(ConfigError);
  });
});

describe('ghz config files', () => {
  it('ships four scenarios, each one a valid config for a unary InventoryService call', async () => {
    const files = (await readdir(GHZ_DIR)).filter((f) => f.endsWith('.json')).sort();
    expect(files).toEqual(['mixed-channels.json', 'query-stock.json', 'reserve-distinct.json', 'reserve-hot.json']);
    for (const f of files) {
      const raw = (await load(f)) as Record<string, unknown>;
      // The fields ghz reads, spelled as ghz spells them.
      expect(raw.proto).toBe('proto/stockmind/inventory/v1/inventory.proto');
      expect(raw['import-paths']).toEqual(['proto']);
      expect(raw.insecure).toBe(true);
      expect(needsToken(raw)).toBe(true);
      const plan = parseConfig(substituteToken(raw, 't0k'));
      const method = findMethod(plan.service, plan.method);
      expect(method.methodKind).toBe('unary');
      for (let n = 0; n < plan.data.length * 2; n++) {
        const { metadata } = buildRequest(plan, method, at(n));
        expect(metadata.authorization).toBe('Bearer t0k');
      }
    }
  });

  it('query-stock asks for ten distinct SKUs 10n..10n+9 at W1 from the Redis view', async () => {
    const plan = parseConfig(substituteToken(await load('query-stock.json'), 'x'));
    const { message } = buildRequest(plan, findMethod(plan.service, plan.method), at(12));
    const q = message as QueryStockRequest;
    expect(q.consistency).toBe(Consistency.EVENTUAL);
    expect(q.keys.map((k) => `${k.locationId}/${k.sku}`)).toEqual(
      Array.from({ length: 10 }, (_, i) => `W1/SKU-${120 + i}`),
    );
  });

  it('mixed-channels takes its four messages round-robin by request number, as ghz does for unary calls', async () => {
    const plan = parseConfig(substituteToken(await load('mixed-channels.json'), 'x'));
    const method = findMethod(plan.service, plan.method);
    const channels = [0, 1, 2, 3, 4, 5].map(
      (n) => (buildRequest(plan, method, at(n)).message as ReserveStockRequest).channel,
    );
    expect(channels).toEqual([
      Channel.ECOMMERCE,
      Channel.POS,
      Channel.MARKETPLACE,
      Channel.B2B,
      Channel.ECOMMERCE,
      Channel.POS,
    ]);
    const b2b = buildRequest(plan, method, at(3)).message as ReserveStockRequest;
    expect(b2b.lines[0]?.quantity).toBe(12n);
    expect(b2b.lines[0]?.sku).toBe('SKU-3');
    // A second web line on another SKU; "SKU-1<n>" never has a leading zero, so it always names a seeded SKU.
    const web = buildRequest(plan, method, at(0)).message as ReserveStockRequest;
    expect(web.lines.map((l) => l.sku)).toEqual(['SKU-0', 'SKU-10']);
  });

  it('gives each reservation its own id', async () => {
    const plan = parseConfig(substituteToken(await load('reserve-hot.json'), 'x'));
    const method = findMethod(plan.service, plan.method);
    const ids = new Set(
      [0, 1, 2, 3].map((n) => (buildRequest(plan, method, at(n)).message as ReserveStockRequest).reservationId),
    );
    expect(ids.size).toBe(4);
  });
});

describe('parseConfig', () => {
  const base = { call: 'stockmind.inventory.v1.InventoryService/QueryStock', data: { keys: [] } };

  it("uses ghz's defaults: 200 calls, 50 callers, 1 connection, 20 s timeout, closed loop", () => {
    const p = parseConfig(base);
    expect(p).toMatchObject({
      total: 200,
      concurrency: 50,
      connections: 1,
      rps: null,
      durationMs: null,
      timeoutMs: 20_000,
      host: '127.0.0.1:50051',
    });
    expect(splitCall(base.call)).toEqual({ service: 'stockmind.inventory.v1.InventoryService', method: 'QueryStock' });
  });

  it('lets a duration replace the total, and command-line overrides win over the file', () => {
    expect(parseConfig({ ...base, total: 10, duration: '5s' })).toMatchObject({ total: null, durationMs: 5000 });
    const p = parseConfig(
      { ...base, total: 100, concurrency: 8, rps: 50, duration: '5s' },
      { total: 30, concurrency: 4, rps: 0, duration: '0', host: 'h:1' },
    );
    expect(p).toMatchObject({ total: 30, concurrency: 4, rps: null, durationMs: null, host: 'h:1' });
  });

  it('never runs more callers than calls, nor more connections than callers', () => {
    expect(parseConfig({ ...base, total: 3, concurrency: 50 }).concurrency).toBe(3);
    expect(parseConfig({ ...base, concurrency: 8, connections: 4 }, { concurrency: 2 })).toMatchObject({
      concurrency: 2,
      connections: 2,
    });
  });

  it('refuses configs ghz would refuse or this runner cannot honour', () => {
    expect(() => parseConfig({ data: {} })).toThrow(/"call" is required/);
    expect(() => parseConfig({ ...base, call: 'QueryStock' })).toThrow(/package.Service.Method/);
    expect(() => parseConfig({ ...base, data: 'x' })).toThrow(/"data"/);
    expect(() => parseConfig({ ...base, data: [] })).toThrow(/"data"/);
    expect(() => parseConfig({ ...base, concurrency: 0 })).toThrow(/concurrency/);
    expect(() => parseConfig({ ...base, insecure: false })).toThrow(/insecure/);
  });

  it('substitutes the token placeholder only in metadata', () => {
    const raw = {
      ...base,
      data: { note: TOKEN_PLACEHOLDER },
      metadata: { authorization: `Bearer ${TOKEN_PLACEHOLDER}` },
    };
    const out = substituteToken(raw, 'abc') as typeof raw;
    expect(out.metadata.authorization).toBe('Bearer abc');
    expect(out.data.note).toBe(TOKEN_PLACEHOLDER);
  });

  it('builds protobuf messages from snake_case or camelCase JSON with int64 as strings', () => {
    const a = fromJson(ReserveStockRequestSchema, {
      reservation_id: 'r',
      lines: [{ sku: 's', location_id: 'W1', quantity: '3' }],
    });
    const b = fromJson(ReserveStockRequestSchema, {
      reservationId: 'r',
      lines: [{ sku: 's', locationId: 'W1', quantity: 3 }],
    });
    expect(a).toEqual(b);
  });
});

describe('command line', () => {
  it('reads ghz-style short flags and budgets', () => {
    const c = parseCli([
      'f.json',
      '-n',
      '1000',
      '-c',
      '16',
      '--rps',
      '500',
      '-z',
      '10s',
      '--host',
      'x:1',
      '--p95',
      '200ms',
      '--p99',
      '10ms',
      '--max-error-rate',
      '0.01',
    ]);
    expect(c.overrides).toEqual({ total: 1000, concurrency: 16, rps: 500, duration: '10s', host: 'x:1' });
    expect(c.budget).toEqual({ p95Ns: 200e6, p99Ns: 10e6, maxErrorRate: 0.01 });
  });
  it('refuses a missing config file and a bad error rate', () => {
    expect(() => parseCli([])).toThrow(/usage/);
    expect(() => parseCli(['f.json', '--max-error-rate', '5'])).toThrow(/fraction/);
  });
});
