// Cross-cutting concerns: authentication, correlation, error mapping, logging.
import { randomUUID } from 'node:crypto';
import { toConnectError } from './errors.js';
import { callInfoKey } from './context.js';
import type { TokenVerifier } from '../auth/tokens.js';
import { AppError } from '../app/errors.js';
import type { Interceptor } from '@connectrpc/connect';
import type { Logger } from 'pino';

const CORRELATION = /^[\x21-\x7e]{1,128}$/;

/** Verifies the bearer token of every call to the services in `protectedServices`. */
export const authInterceptor = (verify: TokenVerifier, protectedServices: Set<string>): Interceptor => (next) => async (req) => {
  const header = req.header.get('correlation-id') ?? req.header.get('x-correlation-id') ?? '';
  const correlationId = CORRELATION.test(header) ? header : randomUUID();
  const traceparent = req.header.get('traceparent');
  const traceId = traceparent?.split('-')[1] ?? null;
  let claims = null;
  if (protectedServices.has(req.service.typeName)) {
    const auth = req.header.get('authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    if (m === null) {
      throw toConnectError(new AppError('UNAUTHENTICATED', 'authorization: Bearer <token> is required (npx stockmind token --tenant T --roles admin)', { reason: 'UNAUTHENTICATED' }));
    }
    claims = await verify(m[1] ?? '').catch((err: unknown) => {
      throw toConnectError(err);
    });
  }
  req.contextValues.set(callInfoKey, { claims, correlationId, traceId });
  const res = await next(req);
  res.header.set('correlation-id', correlationId);
  return res;
};

/** Maps every thrown error once, and logs each call with tenant and correlation id. */
export const errorAndLogInterceptor = (log: Logger): Interceptor => (next) => async (req) => {
  const started = performance.now();
  const fields = () => {
    const info = req.contextValues.get(callInfoKey);
    return { method: req.method.name, tenant: info.claims?.tenant, correlationId: info.correlationId, ms: +(performance.now() - started).toFixed(2) };
  };
  try {
    const res = await next(req);
    if (log.isLevelEnabled('debug')) log.debug({ ...fields(), code: 'ok' }, 'call');
    return res;
  } catch (err) {
    const mapped = toConnectError(err);
    const { correlationId } = req.contextValues.get(callInfoKey);
    if (correlationId !== '') mapped.metadata.set('correlation-id', correlationId);
    if (mapped.code === 13) log.error({ ...fields(), err }, 'call failed');
    else if (log.isLevelEnabled('debug')) log.debug({ ...fields(), code: mapped.code, reason: mapped.rawMessage }, 'call refused');
    throw mapped;
  }
};
