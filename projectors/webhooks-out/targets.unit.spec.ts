import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTargetUrl, isPrivateAddress } from './targets.js';
import { postWebhook } from './send.js';
import type { AddressInfo } from 'node:net';

describe('partner webhook targets', () => {
  it('treats loopback, private, link-local, shared and reserved ranges as private', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
    ]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['8.8.8.8', '172.32.0.1', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])
      expect(isPrivateAddress(a), a).toBe(false);
  });

  it('refuses loopback URLs, by literal or by name, unless private targets are allowed', async () => {
    expect(await checkTargetUrl('http://127.0.0.1:6379/', false)).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/loopback, private or reserved/),
    });
    expect(await checkTargetUrl('http://[::1]:5432/', false)).toMatchObject({ ok: false });
    expect(await checkTargetUrl('http://localhost:5432/', false)).toMatchObject({ ok: false });
    expect(await checkTargetUrl('http://127.0.0.1:6379/', true)).toMatchObject({ ok: true });
  });

  it('refuses URLs that are not http(s), carry credentials or do not parse', async () => {
    expect(await checkTargetUrl('ftp://partner.example/', true)).toMatchObject({ ok: false });
    expect(await checkTargetUrl('https://user:pw@partner.example/', true)).toMatchObject({ ok: false });
    expect(await checkTargetUrl('partner.example/hook', true)).toMatchObject({ ok: false });
  });

  describe('at delivery time', () => {
    const hits: string[] = [];
    const server = http.createServer((req, res) => {
      hits.push(req.url ?? '');
      // /slow never answers: the attempt must time out, not hang.
      if (req.url !== '/slow') res.writeHead(200).end('ok');
    });
    let port = 0;
    beforeAll(async () => {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    });

    it('never connects to a loopback address unless allowed, by literal or by name', async () => {
      const send = (host: string, allowPrivate: boolean) =>
        postWebhook({ url: `http://${host}:${port}/hook`, body: '{}', headers: {}, timeoutMs: 2_000, allowPrivate });
      expect(await send('127.0.0.1', false)).toMatchObject({ kind: 'refused' });
      expect(await send('localhost', false)).toMatchObject({ kind: 'refused' });
      expect(hits).toEqual([]);
      expect(await send('127.0.0.1', true)).toMatchObject({ kind: 'response', statusCode: 200 });
      expect(hits).toEqual(['/hook']);
    });

    it('reports a timeout and a refused connection as such (both retried by the schedule)', async () => {
      const t0 = Date.now();
      expect(
        await postWebhook({
          url: `http://127.0.0.1:${port}/slow`,
          body: '{}',
          headers: {},
          timeoutMs: 300,
          allowPrivate: true,
        }),
      ).toMatchObject({ kind: 'timeout' });
      expect(Date.now() - t0).toBeLessThan(2_000);
      const closed = http.createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const closedPort = (closed.address() as AddressInfo).port;
      await new Promise<void>((r) => closed.close(() => r()));
      expect(
        await postWebhook({
          url: `http://127.0.0.1:${closedPort}/x`,
          body: '{}',
          headers: {},
          timeoutMs: 1_000,
          allowPrivate: true,
        }),
      ).toMatchObject({ kind: 'connection', error: expect.stringMatching(/ECONNREFUSED/) });
    });
  });
});
