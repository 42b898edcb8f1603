// One table of routes: each entry is mounted on Fastify and documented in
// OpenAPI from the same zod schemas, so the docs cannot drift from the checks.
import { authenticate, permit } from '../../platform/http/auth.js';
import { invalidRequest } from '../../platform/http/problems.js';
import type { z } from 'zod';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Action } from '../../platform/auth/permissions.js';
import type { TokenVerifier } from '../../platform/auth/tokens.js';
import type { EdgeCaller } from '../../platform/http/auth.js';
import type { FieldError } from '../../platform/http/problems.js';
import type { RateLimiter } from './rateLimit.js';

export type ResponseDoc = {
  status: number;
  description: string;
  schema?: z.ZodType;
  contentType?: string;
  headers?: Record<string, string>;
};
export type HeaderDoc = { name: string; description: string; required: boolean; schema: z.ZodType };

type Shape = z.ZodObject;

export type RouteInput<P, Q, B> = {
  params: P;
  query: Q;
  body: B;
  caller: EdgeCaller;
  req: FastifyRequest;
  reply: FastifyReply;
};

export type Route = {
  method: 'GET' | 'POST';
  /** OpenAPI form: /v1/availability/{sku} */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** What the token must allow (scope is checked by the handler once it knows the input). */
  action: Action;
  params?: Shape;
  query?: Shape;
  body?: z.ZodType;
  headers?: HeaderDoc[];
  responses: ResponseDoc[];
  handle(input: RouteInput<unknown, unknown, unknown>): Promise<unknown>;
};

export const defineRoute = <P extends Shape, Q extends Shape, B extends z.ZodType>(
  r: Omit<Route, 'params' | 'query' | 'body' | 'handle'> & {
    params?: P;
    query?: Q;
    body?: B;
    handle(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<unknown>;
  },
): Route => r as unknown as Route;

/** zod issues as REST field errors: `lines[0].quantity`, `(body)` for the body as a whole. */
export const fieldErrors = (issues: z.core.$ZodIssue[]): FieldError[] =>
  issues.map((i) => {
    const field = i.path.reduce<string>(
      (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc === '' ? String(p) : `${acc}.${String(p)}`),
      '',
    );
    const message = /received undefined$/.test(i.message) ? 'required' : i.message;
    return { field: field === '' ? '(body)' : field, message };
  });

const parse = <T>(schema: z.ZodType<T> | undefined, value: unknown): T => {
  if (schema === undefined) return undefined as T;
  const r = schema.safeParse(value);
  if (!r.success) throw invalidRequest(fieldErrors(r.error.issues));
  return r.data;
};

/** /v1/availability/{sku} -> /v1/availability/:sku; a literal ':' is doubled for Fastify. */
export const fastifyPath = (path: string): string => path.replaceAll(':', '::').replace(/\{(\w+)\}/g, ':$1');

export type MountDeps = { verify: TokenVerifier; ipLimiter: RateLimiter; tenantLimiter: RateLimiter };

export const mountRoute = (app: FastifyInstance, route: Route, deps: MountDeps): void => {
  app.route({
    method: route.method,
    url: fastifyPath(route.path),
    handler: async (req, reply) => {
      const byIp = deps.ipLimiter.take(req.ip);
      if (byIp !== null) throw byIp;
      const caller = await authenticate(deps.verify, req);
      permit(caller, route.action);
      const byTenant = deps.tenantLimiter.take(caller.claims.tenant);
      if (byTenant !== null) throw byTenant;
      const params = parse(route.params, req.params);
      const query = parse(route.query, req.query);
      const body = parse(route.body, req.body);
      return route.handle({ params, query, body, caller, req, reply });
    },
  });
};
