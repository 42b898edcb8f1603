// Small HTTP helpers: entity tags and conditional requests.
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/** A weak tag over what a client displays; equal answers get equal tags across edge replicas. */
export const etagOf = (parts: unknown): string =>
  `W/"${createHash('sha1').update(JSON.stringify(parts)).digest('base64url').slice(0, 22)}"`;

/** If-None-Match matches (weak comparison, lists and `*` included). */
export const notModified = (req: FastifyRequest, etag: string): boolean => {
  const header = req.headers['if-none-match'];
  if (header === undefined) return false;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === bare;
  });
};
