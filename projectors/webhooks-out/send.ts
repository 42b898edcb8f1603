// One HTTP attempt to a partner endpoint. Redirects are not followed (a
// redirect could point anywhere, including private addresses).
import http from 'node:http';
import https from 'node:https';
import { TargetRefused, guardedLookup, refuseLiteralTarget } from './targets.js';

export type AttemptResult =
  | { kind: 'response'; statusCode: number; snippet: string }
  | { kind: 'timeout'; error: string }
  | { kind: 'connection'; error: string }
  | { kind: 'refused'; error: string };

const SNIPPET_BYTES = 512;

export const postWebhook = (o: {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  allowPrivate: boolean;
}): Promise<AttemptResult> =>
  new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(o.url);
      refuseLiteralTarget(url, o.allowPrivate);
    } catch (err) {
      resolve({ kind: 'refused', error: (err as Error).message });
      return;
    }
    const lib = url.protocol === 'https:' ? https : http;
    let settled = false;
    const done = (r: AttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = lib.request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(o.body)),
          ...o.headers,
        },
        lookup: guardedLookup(o.allowPrivate),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < SNIPPET_BYTES) chunks.push(c);
          size += c.length;
        });
        res.on('end', () =>
          done({
            kind: 'response',
            statusCode: res.statusCode ?? 0,
            snippet: Buffer.concat(chunks).toString('utf8').slice(0, SNIPPET_BYTES),
          }),
        );
        res.on('error', () => done({ kind: 'response', statusCode: res.statusCode ?? 0, snippet: '' }));
      },
    );
    const timer = setTimeout(() => {
      done({ kind: 'timeout', error: `no response within ${o.timeoutMs} ms` });
      req.destroy();
    }, o.timeoutMs);
    req.on('error', (err) => {
      if (err instanceof TargetRefused) done({ kind: 'refused', error: err.message });
      else done({ kind: 'connection', error: `${(err as NodeJS.ErrnoException).code ?? 'ERROR'}: ${err.message}` });
    });
    req.end(o.body);
  });
