// The OpenAPI 3.1 document, built from the route table and its zod schemas.
import { z } from 'zod';
import { components, problemSchema } from './schemas.js';
import type { Route } from './route.js';

type Json = Record<string, unknown>;

const REF = (id: string) => `#/components/schemas/${id}`;

/** Embedded schemas drop the document-level keywords zod adds. */
const clean = (schema: Json): Json =>
  Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema' && k !== '$id'));

const schemaOf = (schema: z.ZodType, io: 'input' | 'output'): Json => {
  const id = components.get(schema)?.id;
  if (id !== undefined) return { $ref: REF(id) };
  return clean(z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json);
};

const isOptional = (schema: z.ZodType): boolean => schema.safeParse(undefined).success;

const parametersOf = (route: Route): Json[] => {
  const out: Json[] = [];
  for (const [where, shape] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (shape === undefined) continue;
    for (const [name, field] of Object.entries(shape.shape as Record<string, z.ZodType>)) {
      const schema = schemaOf(field, 'input');
      out.push({
        name,
        in: where,
        required: where === 'path' || !isOptional(field),
        description: field.description ?? schema.description,
        schema,
      });
    }
  }
  for (const h of route.headers ?? [])
    out.push({
      name: h.name,
      in: 'header',
      required: h.required,
      description: h.description,
      schema: schemaOf(h.schema, 'input'),
    });
  return out;
};

const problemResponse = (description: string, headers: Json = {}) => ({
  description,
  headers,
  content: { 'application/problem+json': { schema: { $ref: REF('Problem') } } },
});

// Every route can answer these; listing them once per operation keeps generated clients honest.
const COMMON = {
  401: problemResponse('No, bad or expired bearer token', { 'WWW-Authenticate': { schema: { type: 'string' } } }),
  403: problemResponse(
    "The token's roles or scope do not allow this (e.g. an auditor reserving, a channel service without CHANNEL_B2B taking a B2B hold)",
  ),
  429: problemResponse('Rate limit: per tenant and per client address', {
    'Retry-After': { schema: { type: 'integer' } },
  }),
  503: problemResponse('The core (or the event broker, for streams) is unavailable; nothing was applied', {
    'Retry-After': { schema: { type: 'integer' } },
  }),
  504: problemResponse('The core did not answer within the deadline; retry writes with the same Idempotency-Key'),
};

const operationOf = (route: Route): Json => {
  const responses: Json = {};
  for (const r of route.responses) {
    const headers = Object.fromEntries(
      Object.entries(r.headers ?? {}).map(([k, d]) => [k, { description: d, schema: { type: 'string' } }]),
    );
    responses[String(r.status)] = {
      description: r.description,
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      ...(r.schema === undefined
        ? {}
        : { content: { [r.contentType ?? 'application/json']: { schema: schemaOf(r.schema, 'output') } } }),
    };
  }
  for (const [status, doc] of Object.entries(COMMON)) if (responses[status] === undefined) responses[status] = doc;
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description === undefined ? {} : { description: route.description }),
    tags: [route.tag],
    security: [{ bearer: [] }],
    parameters: parametersOf(route),
    ...(route.body === undefined
      ? {}
      : {
          requestBody: {
            required: !isOptional(route.body),
            content: { 'application/json': { schema: schemaOf(route.body, 'input') } },
          },
        }),
    responses,
  };
};

export type OpenApiInfo = { title: string; version: string; description: string };

export const openApiDocument = (routes: Route[], info: OpenApiInfo): Json => {
  const paths: Record<string, Json> = {};
  for (const route of routes) (paths[route.path] ??= {})[route.method.toLowerCase()] = operationOf(route);
  // Referenced from COMMON even where no route names it.
  if (components.get(problemSchema) === undefined) throw new Error('the Problem schema must be registered');
  const { schemas } = z.toJSONSchema(components, { uri: REF, io: 'output' }) as { schemas: Record<string, Json> };
  const described = Object.fromEntries(Object.entries(schemas).map(([id, s]) => [id, clean(s)]));
  return {
    openapi: '3.1.0',
    info,
    servers: [{ url: '/' }],
    tags: [
      { name: 'Availability', description: 'What a shop shows: "In Stock", "Only 3 left", "Out of Stock"' },
      {
        name: 'Reservations',
        description: 'Hold stock for an order, then confirm (paid), fulfil (shipped) or release (cancelled)',
      },
      { name: 'Stock', description: 'Every level, for back offices' },
    ],
    paths,
    components: {
      schemas: described,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
};
