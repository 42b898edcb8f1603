// Per-call values set by the interceptors and read by the handlers.
import { createContextKey } from '@connectrpc/connect';
import type { HandlerContext } from '@connectrpc/connect';
import { AppError } from '../../../platform/errors.js';
import { authorize } from '../../../platform/auth/permissions.js';
import type { Action, Scope } from '../../../platform/auth/permissions.js';
import type { Claims } from '../../../platform/auth/tokens.js';
import type { Caller } from '../app/caller.js';

export type CallInfo = {
  claims: Claims | null;
  correlationId: string;
  traceId: string | null;
  /** The call's span (or the caller's, when the core does not trace), for the command's spans and events. */
  traceparent: string | null;
};

export const callInfoKey = createContextKey<CallInfo>(
  { claims: null, correlationId: '', traceId: null, traceparent: null },
  { description: 'stockmind call info' },
);

/** The verified caller for an action, or PERMISSION_DENIED / UNAUTHENTICATED. */
export const callerFor = (ctx: HandlerContext, action: Action, scope: Scope = {}): Caller => {
  const info = ctx.values.get(callInfoKey);
  if (info.claims === null)
    throw new AppError('UNAUTHENTICATED', 'authorization: Bearer <token> is required', { reason: 'UNAUTHENTICATED' });
  const claims = info.claims;
  authorize(claims, action, scope);
  return {
    tenantId: claims.tenant,
    operator: claims.sub,
    correlationId: info.correlationId,
    traceId: info.traceId,
    traceparent: info.traceparent,
    signal: ctx.signal,
    // For scope known only after a read (a reservation's channel and locations).
    authorize: (later) => authorize(claims, action, later),
  };
};
