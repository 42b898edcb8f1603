// Malformed and oversize requests on both core ports (Connect on CORE_PORT, grpc-js on
// CORE_GRPC_PORT): truncated frames, bad compression flags, bytes that are not protobuf, missing or
// extra messages answer INVALID_ARGUMENT saying what was wrong (connect-node and grpc-js answered
// INTERNAL or UNIMPLEMENTED); a message over the limit answers RESOURCE_EXHAUSTED naming it. The
// server keeps serving good calls after each.
import http2 from 'node:http2';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { create, toBinary } from '@bufbuild/protobuf';
import { InventoryService } from '../../gen/stockmind/inventory/v1/inventory_pb.js';
import { QueryStockRequestSchema } from '../../gen/stockmind/inventory/v1/stock_pb.js';
import { coreForSpec, failure } from '../support/core.js';
import { tokenFor } from '../support/tokens.js';
import { eventually } from '../support/wait.js';

const PATH = '/stockmind.inventory.v1.InventoryService/QueryStock';
const LIMIT = 1024 * 1024;
const GOOD = Buffer.from(
  toBinary(QueryStockRequestSchema, create(QueryStockRequestSchema, { keys: [{ sku: 'SKU-F', locationId: 'W1' }] })),
);

const frame = (payload: Buffer, o: { flag?: number; length?: number } = {}) => {
  const head = Buffer.alloc(5);
  head[0] = o.flag ?? 0;
  head.writeUInt32BE(o.length ?? payload.length, 1);
  return Buffer.concat([head, payload]);
};

type Status = { code: number; message: string };

/** One gRPC call with raw bytes as its body: the status from the trailers (or trailers-only headers). */
const rawGrpc = (port: number, body: Buffer, headers: Record<string, string>): Promise<Status> =>
  new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({
      ':method': 'POST',
      ':path': PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    const done = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] === undefined) return;
      resolve({ code: Number(h['grpc-status']), message: decodeURIComponent(String(h['grpc-message'] ?? '')) });
      session.destroy();
    };
    req.on('response', done);
    req.on('trailers', done);
    req.on('error', () => undefined); // the status is what counts; the stream may be reset after it
    req.resume();
    req.end(body);
  });

describe('malformed and oversize requests at the core', () => {
  const h = coreForSpec('e2e_server_frames', {}, { grpcJs: true });
  let auth: Record<string, string>;
  const ports: Record<string, () => number> = {
    connect: () => h().core.port,
    'grpc-js': () => Number(h().grpcJsAddress?.split(':')[1]),
  };

  beforeAll(async () => {
    auth = { authorization: `Bearer ${await tokenFor('frames')}` };
  });

  const cases: [string, () => Buffer, Record<string, string>, number, RegExp][] = [
    ['a frame header cut short', () => Buffer.from([0, 0, 0]), {}, 3, /ends inside a frame|no complete message/],
    ['a payload shorter than its header says', () => frame(GOOD.subarray(0, 3), { length: 40 }), {}, 3, /frame/],
    ['no message at all', () => Buffer.alloc(0), {}, 3, /no (complete )?message/],
    ['two messages for a unary call', () => Buffer.concat([frame(GOOD), frame(GOOD)]), {}, 3, /2 messages|second/],
    ['bytes that are not protobuf', () => frame(Buffer.from('{"keys": "not protobuf"}')), {}, 3, /QueryStockRequest/],
    [
      'a varint that never ends',
      () => frame(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
      {},
      3,
      /QueryStockRequest/,
    ],
    [
      'a gzip flag over bytes that are not gzip',
      () => frame(GOOD, { flag: 1 }),
      { 'grpc-encoding': 'gzip' },
      3,
      /decompress|gzip/i,
    ],
    [
      'gzip that hides bytes that are not protobuf',
      () => frame(gzipSync(Buffer.from([0xff, 0xff, 0xff])), { flag: 1 }),
      { 'grpc-encoding': 'gzip' },
      3,
      /QueryStockRequest/,
    ],
    ['a header announcing 2 MB', () => frame(GOOD, { length: 2_000_000 }), {}, 8, new RegExp(String(LIMIT))],
  ];

  describe.each(['connect', 'grpc-js'])('on the %s port', (port) => {
    it.each(cases)(
      'answers %s with the right code and says what was wrong',
      async (_, body, headers, code, message) => {
        const status = await rawGrpc((ports[port] as () => number)(), body(), { ...auth, ...headers });
        expect(status.code).toBe(code);
        expect(status.message).toMatch(message);
        // And still serves a good call.
        expect((await rawGrpc((ports[port] as () => number)(), frame(GOOD), auth)).code).toBe(0);
      },
    );

    it('answers a 2 MB body sent in full with RESOURCE_EXHAUSTED, and ends the stream it stopped reading', async () => {
      const session = http2.connect(`http://127.0.0.1:${(ports[port] as () => number)()}`);
      const req = session.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', ...auth });
      const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => {
        req.on('response', (h) => h['grpc-status'] !== undefined && resolve(h));
        req.on('trailers', resolve);
      });
      req.on('error', () => undefined);
      req.resume();
      req.end(frame(Buffer.alloc(2_000_000, 0x41)));
      expect((await trailers)['grpc-status']).toBe('8');
      // Reset by the server (NO_ERROR): else the client waits for a window the server never opens.
      await eventually(async () => expect(req.closed && req.rstCode === http2.constants.NGHTTP2_NO_ERROR).toBe(true));
      session.destroy();
    });

    it('answers a 2 MB message with RESOURCE_EXHAUSTED naming the limit', async () => {
      const client = h().grpcClient(
        auth.authorization?.slice(7),
        port === 'connect' ? h().address : (h().grpcJsAddress ?? ''),
      );
      const err = await failure(
        client.unary(InventoryService.method.queryStock, { keys: [{ sku: 'a'.repeat(2_000_000), locationId: 'W1' }] }),
      );
      expect(err.code).toBe(8);
      expect(err.details).toContain(String(LIMIT));
    });
  });

  it('refuses a message flagged compressed without grpc-encoding on the Connect port; grpc-js reads it as uncompressed', async () => {
    const connect = await rawGrpc(h().core.port, frame(GOOD, { flag: 1 }), auth);
    expect(connect).toMatchObject({ code: 3, message: expect.stringMatching(/compressed.*grpc-encoding/) });
    expect((await rawGrpc((ports['grpc-js'] as () => number)(), frame(GOOD, { flag: 1 }), auth)).code).toBe(0);
  });

  describe('Connect and gRPC-Web over HTTP/1.1 on the Connect port', () => {
    const post = (body: Buffer | string, contentType: string, path = PATH) =>
      fetch(`${h().core.url}${path}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': contentType },
        body: typeof body === 'string' ? body : new Uint8Array(body),
      });

    it('answers 400 invalid_argument to a binary body that is not protobuf, naming the type', async () => {
      const res = await post(Buffer.from([0xff, 0xff, 0xff]), 'application/proto');
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        code: 'invalid_argument',
        message: expect.stringMatching(/QueryStockRequest/),
      });
    });

    it('answers 400 invalid_argument to JSON that does not parse, and to a GET whose message is not protobuf', async () => {
      const json = await post('{"keys": [', 'application/json');
      expect(json.status).toBe(400);
      expect(await json.json()).toMatchObject({ code: 'invalid_argument' });
      const get = await fetch(`${h().core.url}${PATH}?encoding=proto&base64=1&message=__8`, { headers: auth });
      expect(get.status).toBe(400);
      expect(await get.json()).toMatchObject({
        code: 'invalid_argument',
        message: expect.stringMatching(/QueryStockRequest/),
      });
    });

    it('answers gRPC-Web bytes that are not protobuf with grpc-status 3', async () => {
      const res = await post(frame(Buffer.from([0xff, 0xff])), 'application/grpc-web+proto');
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).toString('latin1')).toMatch(/grpc-status: ?3/);
    });

    it('answers a 2 MB body with resource_exhausted naming the limit', async () => {
      const res = await post(
        JSON.stringify({ keys: [{ sku: 'a'.repeat(2_000_000), locationId: 'W1' }] }),
        'application/json',
      );
      const body = (await res.json()) as { code: string; message: string };
      expect(body.code).toBe('resource_exhausted');
      expect(body.message).toContain(String(LIMIT));
    });
  });
});
