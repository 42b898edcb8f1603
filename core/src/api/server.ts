// One port for gRPC (HTTP/2 cleartext), gRPC-Web and Connect (HTTP/1.1 or h2c):
// the first bytes of each connection tell which server takes it.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { Logger } from 'pino';

type Handler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export type RunningServer = { port: number; close(graceMs?: number): Promise<void> };

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n');

/**
 * connect-node percent-encodes grpc-message with encodeURIComponent, while
 * grpc-js (and other clients) decode with decodeURI, so ":" "," ";" would reach
 * them as %3A %2C %3B. Re-encode as the gRPC spec says: only bytes outside
 * 0x20-0x7E, and "%".
 */
const specEncode = (message: string): string =>
  Array.from(Buffer.from(message, 'utf8'))
    .map((b) =>
      b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b),
    )
    .join('');

const fixGrpcMessage = (headers: unknown): void => {
  if (headers === null || typeof headers !== 'object') return;
  const h = headers as Record<string, unknown>;
  const value = h['grpc-message'];
  if (typeof value !== 'string') return;
  try {
    h['grpc-message'] = specEncode(decodeURIComponent(value));
  } catch {
    // leave a value we cannot decode as it is
  }
};

const withSpecGrpcMessages = (handler: Handler) => (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
  const addTrailers = res.addTrailers.bind(res);
  res.addTrailers = (headers) => {
    fixGrpcMessage(headers);
    addTrailers(headers);
  };
  // An answer given before the request's end (a body over the size limit): once its trailers are out
  // (the turn after the response's own 'wantTrailers' listener submitted them), reset the stream with
  // NO_ERROR (RFC 9113 8.1), or the client waits for flow-control window the server never opens.
  res.stream.once('wantTrailers', () =>
    setImmediate(() => {
      if (!req.readableEnded && !res.stream.closed) res.stream.close(http2.constants.NGHTTP2_NO_ERROR);
    }),
  );
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => http2.Http2ServerResponse;
  (res as { writeHead: (...args: unknown[]) => http2.Http2ServerResponse }).writeHead = (...args: unknown[]) => {
    fixGrpcMessage(args[args.length - 1]);
    return writeHead(...args);
  };
  handler(req, res);
};

export const startServer = async (o: {
  handler: Handler;
  host: string;
  port: number;
  log: Logger;
}): Promise<RunningServer> => {
  const h1 = http.createServer(o.handler as http.RequestListener);
  h1.keepAliveTimeout = 65_000;
  // h1 never listens itself (sockets are handed to it), and Node starts its
  // connection tracking on 'listening': without it closeIdleConnections() does
  // nothing (an idle keep-alive client held shutdown for the whole grace period)
  // and headersTimeout / requestTimeout are never enforced.
  h1.emit('listening');
  const h2 = http2.createServer({}, withSpecGrpcMessages(o.handler));
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  const sockets = new Set<net.Socket>();

  const server = net.createServer((socket) => {
    // Small request/response frames: never wait for Nagle's algorithm.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, PREFACE.length);
      const couldBeH2 = head.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (couldBeH2 && n < PREFACE.length) return; // wait for more bytes
      socket.off('data', onData);
      socket.pause();
      socket.unshift(head);
      if (couldBeH2) {
        // http2 takes over the socket's handle and reads the unshifted bytes itself.
        h2.emit('connection', socket);
      } else {
        h1.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const address = server.address() as net.AddressInfo;

  return {
    port: address.port,
    async close(graceMs = 10_000) {
      // Stop accepting, let in-flight calls finish, then cut whatever is left
      // (an open client session would otherwise keep close() waiting for ever).
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sessions) s.close();
      h1.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (sockets.size > 0 && Date.now() < deadline) {
        h1.closeIdleConnections();
        await new Promise((r) => setTimeout(r, 25));
      }
      for (const s of sessions) s.destroy();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
};
