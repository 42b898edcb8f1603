import { describe, expect, it } from 'vitest';
import { TemplateError, compileTemplate, expand, randomString } from './template.js';
import type { RequestContext } from './template.js';

const ctx = (requestNumber: number, now = new Date('2026-11-22T10:11:12.345Z')): RequestContext => ({
  requestNumber,
  workerId: 'g0c3',
  now,
  call: {
    fullyQualifiedName: 'stockmind.inventory.v1.InventoryService.QueryStock',
    methodName: 'QueryStock',
    serviceName: 'stockmind.inventory.v1.InventoryService',
    inputName: 'QueryStockRequest',
    outputName: 'QueryStockResponse',
    isClientStreaming: false,
    isServerStreaming: false,
  },
});

describe('ghz call templates', () => {
  it('substitutes the request number wherever it appears, so SKU-{{.RequestNumber}}3 names SKU 10n+3', () => {
    const t = compileTemplate('{"sku":"SKU-{{.RequestNumber}}3","n":"{{ .RequestNumber }}"}');
    expect(expand(t, ctx(42))).toBe('{"sku":"SKU-423","n":"42"}');
    expect(expand(t, ctx(7))).toBe('{"sku":"SKU-73","n":"7"}');
  });

  it('renders the timestamps as ghz does (RFC 3339 seconds, unix s / ms / ns)', () => {
    const t = compileTemplate('{{.Timestamp}} {{.TimestampUnix}} {{.TimestampUnixMilli}} {{.TimestampUnixNano}}');
    expect(expand(t, ctx(0))).toBe('2026-11-22T10:11:12Z 1795342272 1795342272345 1795342272345000000');
  });

  it('gives every request a fresh UUID and random string of the asked length', () => {
    const t = compileTemplate('{{.UUID}}|{{newUUID}}|{{randomString 8}}');
    const [a, b, s] = expand(t, ctx(1)).split('|');
    const [c] = expand(t, ctx(1)).split('|');
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(b).toMatch(/^[0-9a-f-]{36}$/);
    expect(a).not.toBe(c);
    expect(s).toMatch(/^[A-Za-z0-9]{8}$/);
  });

  it('picks a length between 2 and 16 for randomString 0, like ghz', () => {
    for (let i = 0; i < 50; i++) expect(randomString(0).length).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < 50; i++) expect(randomString(0).length).toBeLessThanOrEqual(16);
  });

  it('exposes the method names and worker id', () => {
    expect(expand(compileTemplate('{{.MethodName}}/{{.InputName}}/{{.WorkerID}}/{{.IsServerStreaming}}'), ctx(0))).toBe(
      'QueryStock/QueryStockRequest/g0c3/false',
    );
  });

  it("honours Go's trim markers", () => {
    expect(expand(compileTemplate('a  {{- .RequestNumber -}}  b'), ctx(5))).toBe('a5b');
  });

  it('refuses an action it does not support instead of sending the raw text', () => {
    expect(() => compileTemplate('{{.Nope}}')).toThrow(TemplateError);
    expect(() => compileTemplate('{{add .RequestNumber 1}}')).toThrow(/unsupported template action/);
    expect(() => compileTemplate('{"sku":"{{.RequestNumber"}')).toThrow(/unterminated/);
  });

  it('knows a template without actions is static', () => {
    expect(compileTemplate('{"a":1}').isStatic).toBe(true);
    expect(compileTemplate('{"a":"{{.UUID}}"}').isStatic).toBe(false);
  });
});
