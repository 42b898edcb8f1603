// Which addresses a partner webhook may reach. Loopback, private, link-local,
// shared, multicast and reserved ranges are refused (a subscription must not
// reach Redis, Postgres or a cloud metadata endpoint) unless explicitly allowed.
// Checked when a subscription is created and again at every connection, on the
// address actually dialled, so a DNS answer that changes later cannot get round it.
import dns from 'node:dns';
import net from 'node:net';
import type { LookupFunction } from 'node:net';

const blocked = new net.BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(prefix, bits, 'ipv4');
for (const [prefix, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
  ['64:ff9b::', 96],
] as const) {
  blocked.addSubnet(prefix, bits, 'ipv6');
}

export const isPrivateAddress = (address: string): boolean => {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return blocked.check(mapped[1] ?? '', 'ipv4');
  const family = net.isIP(address);
  if (family === 0) return true;
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
};

export class TargetRefused extends Error {
  override name = 'TargetRefused';
}

const hostOf = (url: URL): string => url.hostname.replace(/^\[|\]$/g, '');

export type UrlCheck = { ok: true; url: URL } | { ok: false; problem: string };

/** For subscription requests: the URL's shape, and where its host resolves today. */
export const checkTargetUrl = async (
  text: string,
  allowPrivate: boolean,
  lookup = dns.promises.lookup,
): Promise<UrlCheck> => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, problem: 'not an absolute URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return { ok: false, problem: 'use an http:// or https:// URL' };
  if (url.username !== '' || url.password !== '')
    return {
      ok: false,
      problem: 'credentials in the URL are not allowed; authenticate the partner with the signature',
    };
  if (url.hash !== '') return { ok: false, problem: 'a URL fragment is never sent; remove it' };
  if (allowPrivate) return { ok: true, url };
  const host = hostOf(url);
  let addresses: string[];
  try {
    addresses =
      net.isIP(host) !== 0 ? [host] : (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch {
    return { ok: false, problem: `host "${host}" does not resolve` };
  }
  const bad = addresses.find(isPrivateAddress);
  if (bad !== undefined)
    return {
      ok: false,
      problem: `host "${host}" resolves to ${bad}, a loopback, private or reserved address; partner webhooks go to public addresses only`,
    };
  return { ok: true, url };
};

/** A lookup for http.request that refuses private answers, so the address dialled is the address checked. */
export const guardedLookup =
  (allowPrivate: boolean): LookupFunction =>
  (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err !== null) return callback(err, '', 4);
      const list = addresses as unknown as dns.LookupAddress[];
      const usable = allowPrivate ? list : list.filter((a) => !isPrivateAddress(a.address));
      const first = usable[0];
      if (first === undefined)
        return callback(
          new TargetRefused(`${hostname} resolves only to loopback, private or reserved addresses`),
          '',
          4,
        );
      if (options.all === true) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, usable);
      return callback(null, first.address, first.family);
    });
  };

/** An IP literal is dialled without a lookup: check it here. */
export const refuseLiteralTarget = (url: URL, allowPrivate: boolean): void => {
  const host = hostOf(url);
  if (!allowPrivate && net.isIP(host) !== 0 && isPrivateAddress(host)) {
    throw new TargetRefused(`${host} is a loopback, private or reserved address`);
  }
};
