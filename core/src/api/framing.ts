// The Connect port's request check, before connect-node decodes a request: connect-node answers
// bytes that are not the method's message, and a frame flagged compressed without an encoding, with
// INTERNAL (its serialization throws Code.Internal), and it decodes a unary request before any
// interceptor runs, so no interceptor can map it. Each request here carries one message (unary and
// server-streaming methods), which the check reads whole, bounded by readMaxBytes, and decodes once
// more: INVALID_ARGUMENT saying what was wrong, RESOURCE_EXHAUSTED naming the limit. JSON bodies are
// connect-node's (it answers those with INVALID_ARGUMENT already).
import { fromBinary } from '@bufbuild/protobuf';
import { base64Decode } from '@bufbuild/protobuf/wire';
import { Code, ConnectError, createConnectRouter } from '@connectrpc/connect';
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from '@connectrpc/connect-node';
import { createAsyncIterable } from '@connectrpc/connect/protocol';
import { codeToHttpStatus, errorToJsonBytes } from '@connectrpc/connect/protocol-connect';
import type { DescMethod } from '@bufbuild/protobuf';
import type { ConnectRouter, ConnectRouterOptions } from '@connectrpc/connect';
import type { UniversalHandler, UniversalServerRequest, UniversalServerResponse } from '@connectrpc/connect/protocol';
import type { Logger } from 'pino';
import type http from 'node:http';
import type http2 from 'node:http2';

/** The largest request message either core port reads (after decompression). */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

const COMPRESSIONS = [compressionGzip, compressionBrotli];
const HEADER_BYTES = 5;

const invalid = (message: string) => new ConnectError(message, Code.InvalidArgument);
const tooLarge = (limit: number) =>
  new ConnectError(
    `the request message is larger than the limit of ${limit} bytes; send fewer keys or lines per call`,
    Code.ResourceExhausted,
  );

/** How a request carries its message: in gRPC-style frames or as the whole body, binary or not. */
const framingOf = (req: UniversalServerRequest): { framed: boolean; encoding: string | null } | null => {
  const type = (req.header.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  switch (type) {
    case 'application/grpc':
    case 'application/grpc+proto':
    case 'application/grpc-web':
    case 'application/grpc-web+proto':
      return { framed: true, encoding: req.header.get('grpc-encoding') };
    case 'application/connect+proto':
      return { framed: true, encoding: req.header.get('connect-content-encoding') };
    case 'application/proto':
      return { framed: false, encoding: req.header.get('content-encoding') };
    default:
      return null; // JSON: connect-node's own checks
  }
};

const readAll = async (body: AsyncIterable<Uint8Array>, limit: number, framed: boolean): Promise<Buffer> => {
  const max = limit + (framed ? HEADER_BYTES : 0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  let headerChecked = !framed;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.byteLength;
    if (size > max) throw tooLarge(limit);
    // A frame announcing more than the limit is refused before its bytes arrive.
    if (!headerChecked && size >= HEADER_BYTES) {
      headerChecked = true;
      if (Buffer.concat(chunks).readUInt32BE(1) > limit) throw tooLarge(limit);
    }
  }
  return Buffer.concat(chunks);
};

/** The one message of a framed body, or why there is none. */
const oneFrame = (bytes: Buffer, limit: number): { flag: number; payload: Buffer } => {
  const frames: { flag: number; payload: Buffer }[] = [];
  for (let at = 0; at < bytes.length;) {
    if (bytes.length - at < HEADER_BYTES)
      throw invalid(`the request ends inside a frame header (${bytes.length - at} of ${HEADER_BYTES} bytes)`);
    const length = bytes.readUInt32BE(at + 1);
    if (length > limit) throw tooLarge(limit);
    const end = at + HEADER_BYTES + length;
    if (end > bytes.length)
      throw invalid(`the request ends inside a frame: its header says ${length} bytes, ${bytes.length - at - 5} came`);
    frames.push({ flag: bytes[at] as number, payload: bytes.subarray(at + HEADER_BYTES, end) });
    at = end;
  }
  if (frames.length !== 1)
    throw invalid(`the request carries ${frames.length === 0 ? 'no message' : `${frames.length} messages`}; send one`);
  return frames[0] as { flag: number; payload: Buffer };
};

const decompressed = async (payload: Uint8Array, encoding: string | null, limit: number) => {
  if (encoding === null || encoding === 'identity') return payload;
  const compression = COMPRESSIONS.find((c) => c.name === encoding);
  // An encoding connect-node does not know: it answers UNIMPLEMENTED itself.
  return compression === undefined ? null : compression.decompress(payload, limit);
};

const decodes = (method: DescMethod, payload: Uint8Array | null): void => {
  if (payload === null) return;
  try {
    fromBinary(method.input, payload);
  } catch (err) {
    throw invalid(`the request is not a valid ${method.input.typeName}: ${(err as Error).message}`);
  }
};

/** The bytes of a POST body once checked; throws the ConnectError connect-node then answers with. */
const checkedBody = async (method: DescMethod, req: UniversalServerRequest, limit: number) => {
  const framing = framingOf(req);
  const body = req.body as AsyncIterable<Uint8Array>;
  if (framing === null) return body;
  const bytes = await readAll(body, limit, framing.framed);
  if (!framing.framed) {
    decodes(method, await decompressed(bytes, framing.encoding, limit));
    return createAsyncIterable([bytes]);
  }
  const { flag, payload } = oneFrame(bytes, limit);
  const compressed = (flag & 1) === 1;
  if (compressed && (framing.encoding === null || framing.encoding === 'identity'))
    throw invalid('the message is flagged compressed, but the request names no grpc-encoding');
  decodes(method, compressed ? await decompressed(payload, framing.encoding, limit) : payload);
  return createAsyncIterable([bytes]);
};

/** A Connect GET carries its message in the query; a bad one is answered here, as connect-node would. */
const badGetMessage = async (method: DescMethod, url: string, limit: number): Promise<ConnectError | null> => {
  const q = new URL(url).searchParams;
  if (q.get('encoding') !== 'proto') return null;
  const message = q.get('message') ?? '';
  try {
    const bytes = q.get('base64') === '1' ? base64Decode(message) : new TextEncoder().encode(message);
    decodes(method, await decompressed(bytes, q.get('compression'), limit));
    return null;
  } catch (err) {
    return ConnectError.from(err, Code.InvalidArgument);
  }
};

const errorResponse = (err: ConnectError): UniversalServerResponse => ({
  status: codeToHttpStatus(err.code),
  header: new Headers({ 'content-type': 'application/json' }),
  body: createAsyncIterable([errorToJsonBytes(err, {})]),
});

export const checkFrames = (handler: UniversalHandler, readMaxBytes: number): UniversalHandler =>
  Object.assign(async (req: UniversalServerRequest): Promise<UniversalServerResponse> => {
    if (req.method === 'GET') {
      const bad = await badGetMessage(handler.method, req.url, readMaxBytes);
      return bad === null ? handler(req) : errorResponse(bad);
    }
    // The check runs when connect-node reads the body, so its errors take connect-node's own error path.
    return handler({
      ...req,
      body: {
        async *[Symbol.asyncIterator]() {
          yield* await checkedBody(handler.method, req, readMaxBytes);
        },
      },
    });
  }, handler);

type NodeHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/**
 * connect-node's connectNodeAdapter with every route's requests checked first (`checkFrames`):
 * the same router options, routes and fallback (404).
 */
export const connectHandler = (
  options: ConnectRouterOptions & { routes: (router: ConnectRouter) => void; readMaxBytes: number; log: Logger },
): NodeHandler => {
  const router = createConnectRouter({ acceptCompression: COMPRESSIONS, ...options });
  options.routes(router);
  const paths = new Map(router.handlers.map((h) => [h.requestPath, checkFrames(h, options.readMaxBytes)]));
  return (req, res) => {
    const handler = paths.get(req.url?.split('?', 2)[0] ?? '');
    if (handler === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    const uReq = universalRequestFromNodeRequest(req, res as never, undefined, undefined);
    void handler(uReq)
      .then((uRes) => universalResponseToNodeResponse(uRes, res as never))
      .catch((err: unknown) => {
        // Aborted: the client went away mid-answer, nothing left to tell it.
        if (ConnectError.from(err).code !== Code.Aborted)
          options.log.error({ err, url: req.url }, 'rpc handler failed');
      });
  };
};
