// Bearer tokens at the edge: verified with the core's secret (so a bad token
// never costs a core call) and forwarded as is, so the core checks them again.
import { AppError } from '../errors.js';
import { authorize } from '../auth/permissions.js';
import { problem } from './problems.js';
import type { Action, Scope } from '../auth/permissions.js';
import type { Claims, TokenVerifier } from '../auth/tokens.js';
import type { FastifyRequest } from 'fastify';
import type { HttpProblem } from './problems.js';

export type EdgeCaller = { claims: Claims; token: string };

const BEARER = /^Bearer\s+(\S+)$/i;

const unauthenticated = (detail: string): HttpProblem =>
  problem({
    slug: 'unauthenticated',
    title: 'Authentication required',
    status: 401,
    detail,
    headers: { 'www-authenticate': 'Bearer' },
  });

export const authenticate = async (verify: TokenVerifier, req: FastifyRequest): Promise<EdgeCaller> => {
  const m = BEARER.exec(req.headers.authorization ?? '');
  if (m === null)
    throw unauthenticated(
      'send "Authorization: Bearer <token>" (npx stockmind token --tenant T --roles channel_service --channels CHANNEL_ECOMMERCE)',
    );
  const token = m[1] ?? '';
  try {
    return { claims: await verify(token), token };
  } catch (err) {
    if (err instanceof AppError) throw unauthenticated(err.message);
    throw err;
  }
};

/** The core's permission table, applied before the call; the core applies it again. */
export const permit = (caller: EdgeCaller, action: Action, scope: Scope = {}): void => {
  try {
    authorize(caller.claims, action, scope);
  } catch (err) {
    if (err instanceof AppError) {
      throw problem({
        slug: 'forbidden',
        title: 'Not allowed',
        status: 403,
        detail: err.message,
        extensions: { reason: err.details.reason },
      });
    }
    throw err;
  }
};
