// Server-Sent Events over WatchStock, with honest Last-Event-ID resume.
//
// Each stream has an id; events carry `id: <stream>.<seq>`. When a client goes
// away, its WatchStock stays open for `resumeMs`, recording into a bounded
// history. A reconnect with Last-Event-ID `<stream>.<n>` to the same edge process
// within that time (same tenant, subject and filter) gets every event after n,
// then live ones: nothing missed. Otherwise (too late, history overflowed, other
// replica, edge restarted) the client gets a new stream and a `reset` event: it
// must re-read what it shows. Events carry the item's full level, never a delta.
import { randomBytes } from 'node:crypto';
import { ConnectError } from '@connectrpc/connect';
import { toAvailability } from './convert.js';
import { fromConnectError, problem } from '../../platform/http/problems.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EdgeCaller } from '../../platform/http/auth.js';
import type { CoreClient } from './core.js';

export type WatchFilter = { locationId: string; skus: string[] };

type Sink = { write(chunk: string): void; close(): void };

type Session = {
  id: string;
  owner: string;
  history: { seq: number; frame: string }[];
  nextSeq: number;
  sink: Sink | null;
  upstream: AbortController;
  linger: NodeJS.Timeout | null;
};

export type StreamSettings = {
  heartbeatMs: number;
  resumeMs: number;
  maxStreams: number;
  historySize?: number;
  /** streams_open{kind="sse"}: a client connection counts while it is open. */
  openStreams?: { inc(): void; dec(): void };
};

const MAX_BUFFERED_BYTES = 1 << 20;

export const createStreamHub = (core: CoreClient, settings: StreamSettings) => {
  const sessions = new Map<string, Session>();
  const historySize = settings.historySize ?? 1_000;

  const end = (s: Session) => {
    if (s.linger !== null) clearTimeout(s.linger);
    s.upstream.abort();
    sessions.delete(s.id);
  };

  const detach = (s: Session) => {
    s.sink = null;
    s.linger = setTimeout(() => end(s), settings.resumeMs);
  };

  const record = (s: Session, event: string, data: unknown) => {
    const seq = s.nextSeq++;
    const frame = `id: ${s.id}.${seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    s.history.push({ seq, frame });
    if (s.history.length > historySize) s.history.shift();
    s.sink?.write(frame);
  };

  const pump = async (s: Session, caller: EdgeCaller, correlationId: string, filter: WatchFilter) => {
    const request =
      filter.skus.length > 0
        ? { keys: filter.skus.map((sku) => ({ sku, locationId: filter.locationId })), sendCurrent: true }
        : { locationId: filter.locationId };
    try {
      for await (const res of core.streams.watchStock(
        request,
        core.stream({ token: caller.token, correlationId, signal: s.upstream.signal }),
      )) {
        if (res.level === undefined) continue;
        record(s, 'availability', {
          ...toAvailability(res.level, { location: res.level.locationId }),
          version: Number(res.level.version),
          eventId: res.eventId,
        });
      }
    } catch (err) {
      if (s.upstream.signal.aborted) return;
      const p =
        err instanceof ConnectError
          ? fromConnectError(err)
          : { status: 500, slug: 'internal', title: 'Internal error', detail: 'internal error' };
      // Not recorded: a resumed stream would replay a stale failure.
      s.sink?.write(
        `event: error\ndata: ${JSON.stringify({ type: `https://stockmind.io/problems/${p.slug}`, title: p.title, status: p.status, detail: p.detail })}\n\n`,
      );
    }
    const sink = s.sink;
    end(s);
    sink?.close();
  };

  /** Answers the request with an event stream (the reply is hijacked). */
  const open = (req: FastifyRequest, reply: FastifyReply, caller: EdgeCaller, filter: WatchFilter): void => {
    const owner = JSON.stringify([caller.claims.tenant, caller.claims.sub, filter.locationId, [...filter.skus].sort()]);
    const lastEventId = req.headers['last-event-id'];
    const m = typeof lastEventId === 'string' ? /^([A-Za-z0-9_-]{16})\.(\d+)$/.exec(lastEventId) : null;
    const previous = m === null ? undefined : sessions.get(m[1] ?? '');
    const after = Number(m?.[2] ?? -1);
    const resumable =
      previous !== undefined &&
      previous.owner === owner &&
      after < previous.nextSeq &&
      (previous.history[0]?.seq ?? previous.nextSeq) <= after + 1;

    if (!resumable && sessions.size >= settings.maxStreams) {
      const idle = [...sessions.values()].find((s) => s.sink === null);
      if (idle === undefined) {
        throw problem({
          slug: 'core-unavailable',
          title: 'Too many event streams',
          status: 503,
          detail: 'this edge serves its maximum of event streams; retry shortly',
          headers: { 'retry-after': '5' },
        });
      }
      end(idle);
    }

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'correlation-id': req.id,
    });
    const sink: Sink = {
      write(chunk) {
        // A client that stops reading is cut off; it reconnects and resumes from the history.
        if (res.writableLength > MAX_BUFFERED_BYTES) res.destroy();
        else res.write(chunk);
      },
      close: () => res.end(),
    };
    const heartbeat = setInterval(
      () => sink.write(`: heartbeat ${new Date().toISOString()}\n\n`),
      settings.heartbeatMs,
    );
    res.write(`retry: 2000\n\n`);
    settings.openStreams?.inc();

    let session: Session;
    if (resumable && previous !== undefined) {
      session = previous;
      if (session.linger !== null) clearTimeout(session.linger);
      session.linger = null;
      session.sink?.close();
      session.sink = sink;
      sink.write(`event: open\ndata: ${JSON.stringify({ stream: session.id, resumed: true })}\n\n`);
      for (const h of session.history) if (h.seq > after) sink.write(h.frame);
    } else {
      session = {
        id: randomBytes(12).toString('base64url'),
        owner,
        history: [],
        nextSeq: 0,
        sink,
        upstream: new AbortController(),
        linger: null,
      };
      sessions.set(session.id, session);
      record(session, 'open', { stream: session.id, resumed: false });
      if (lastEventId !== undefined) {
        sink.write(
          `event: reset\ndata: ${JSON.stringify({
            lastEventId,
            detail:
              'cannot resume from this Last-Event-ID (unknown, expired or from another edge); re-read the availability you show (POST /v1/availability:batch), changes from now on follow',
          })}\n\n`,
        );
      }
      void pump(session, caller, req.id, filter);
    }
    const current = session;
    res.once('close', () => {
      clearInterval(heartbeat);
      settings.openStreams?.dec();
      if (current.sink === sink && sessions.has(current.id)) detach(current);
    });
  };

  const close = () => {
    for (const s of [...sessions.values()]) {
      const sink = s.sink;
      end(s);
      sink?.close();
    }
  };

  return { open, close, size: () => sessions.size };
};

export type StreamHub = ReturnType<typeof createStreamHub>;
