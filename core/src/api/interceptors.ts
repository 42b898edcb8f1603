// Cross-cutting concerns: authentication, correlation, error mapping, logging.
import { randomUUID } from 'node:crypto';
import { toConnectError } from './errors.js';
import { callInfoKey } from './context.js';
import type { CallInfo } from './context.js';
import type { TokenVerifier } from '../../../platform/auth/tokens.js';
import { AppError } from '../../../platform/errors.js';
import { validTraceparent } from '../../../platform/telemetry/tracing.js';
import type { Interceptor } from '@connectrpc/connect';
import type { Logger } from 'pino';

const CORRELATION = /^[\x21-\x7e]{1,128}$/;

/**
 * Who calls, from the request headers: the verified claims (for protected services), the
 * correlation id (the caller's, or a new one) and the trace id. Shared by both servers.
 */
export const callInfoFrom = async (
  header: (name: string) => string | null,
  verify: TokenVerifier,
  isProtected: boolean,
): Promise<CallInfo> => {
  const given = header('correlation-id') ?? header('x-correlation-id') ?? '';
  const correlationId = CORRELATION.test(given) ? given : randomUUID();
  const traceId = header('traceparent')?.split('-')[1] ?? null;
  const traceparent = validTraceparent(header('traceparent'));
  if (!isProtected) return { claims: null, correlationId, traceId, traceparent };
  const m = /^Bearer\s+(\S+)$/i.exec(header('authorization') ?? '');
  if (m === null) {
    throw new AppError(
      'UNAUTHENTICATED',
      'authorization: Bearer <token> is required (npx stockmind token --tenant T --roles admin)',
      { reason: 'UNAUTHENTICATED' },
    );
  }
  return { claims: await verify(m[1] ?? ''), correlationId, traceId, traceparent };
};

/** Verifies the bearer token of every call to the services in `protectedServices`. */
export const authInterceptor =
  (verify: TokenVerifier, protectedServices: Set<string>): Interceptor =>
  (next) =>
  async (req) => {
    const info = await callInfoFrom(
      (name) => req.header.get(name),
      verify,
      protectedServices.has(req.service.typeName),
    ).catch((err: unknown) => {
      throw toConnectError(err);
    });
    req.contextValues.set(callInfoKey, info);
    const res = await next(req);
    res.header.set('correlation-id', info.correlationId);
    return res;
  };

/**
 * Maps every thrown error once, and logs each call with tenant and correlation id. A stream's
 * errors surface while its messages are read, after `next` returned: they take the same path.
 */
export const errorAndLogInterceptor =
  (log: Logger): Interceptor =>
  (next) =>
  async (req) => {
    const started = performance.now();
    const fields = () => {
      const info = req.contextValues.get(callInfoKey);
      return {
        method: req.method.name,
        tenant: info.claims?.tenant,
        correlationId: info.correlationId,
        ms: +(performance.now() - started).toFixed(2),
      };
    };
    const fail = (err: unknown) => {
      const mapped = toConnectError(err);
      const { correlationId } = req.contextValues.get(callInfoKey);
      if (correlationId !== '') mapped.metadata.set('correlation-id', correlationId);
      if (mapped.code === 13) log.error({ ...fields(), err }, 'call failed');
      else if (log.isLevelEnabled('debug'))
        log.debug({ ...fields(), code: mapped.code, reason: mapped.rawMessage }, 'call refused');
      return mapped;
    };
    const done = () => {
      if (log.isLevelEnabled('debug')) log.debug({ ...fields(), code: 'ok' }, 'call');
    };
    try {
      const res = await next(req);
      if (!res.stream) {
        done();
        return res;
      }
      const messages = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* messages;
            done();
          } catch (err) {
            throw fail(err);
          }
        })(),
      };
    } catch (err) {
      throw fail(err);
    }
  };
