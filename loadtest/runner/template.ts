// The subset of ghz call-data templates (Go text/template) this runner
// expands. Anything else is refused when the config is read, so a config that
// works here never silently sends the raw "{{…}}" text (ghz does that when a
// template fails to parse).
import { randomBytes, randomUUID } from 'node:crypto';

export type CallInfo = {
  fullyQualifiedName: string;
  methodName: string;
  serviceName: string;
  inputName: string;
  outputName: string;
  isClientStreaming: boolean;
  isServerStreaming: boolean;
};

export type RequestContext = { requestNumber: number; workerId: string; now: Date; call: CallInfo };

type Part = string | ((ctx: RequestContext) => string);

export type Template = { readonly parts: readonly Part[]; readonly isStatic: boolean };

const CHARSET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** ghz's randomString: a length <= 0 picks one between 2 and 16. */
export const randomString = (length: number): string => {
  const n = length > 0 ? length : 2 + ((randomBytes(1)[0] ?? 0) % 15);
  const bytes = randomBytes(n);
  let out = '';
  for (const b of bytes) out += CHARSET[b % CHARSET.length];
  return out;
};

const FIELDS: Record<string, (ctx: RequestContext) => string> = {
  RequestNumber: (c) => String(c.requestNumber),
  WorkerID: (c) => c.workerId,
  FullyQualifiedName: (c) => c.call.fullyQualifiedName,
  MethodName: (c) => c.call.methodName,
  ServiceName: (c) => c.call.serviceName,
  InputName: (c) => c.call.inputName,
  OutputName: (c) => c.call.outputName,
  IsClientStreaming: (c) => String(c.call.isClientStreaming),
  IsServerStreaming: (c) => String(c.call.isServerStreaming),
  // Go's RFC3339: seconds precision, "Z" for UTC.
  Timestamp: (c) => c.now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  TimestampUnix: (c) => String(Math.floor(c.now.getTime() / 1000)),
  TimestampUnixMilli: (c) => String(c.now.getTime()),
  TimestampUnixNano: (c) => `${BigInt(c.now.getTime()) * 1_000_000n}`,
  UUID: () => randomUUID(),
};

export const SUPPORTED_ACTIONS = [...Object.keys(FIELDS).map((f) => `.${f}`), 'newUUID', 'randomString N'] as const;

export class TemplateError extends Error {
  override name = 'TemplateError';
}

const action = (source: string): Part => {
  const body = source.trim();
  const field = /^\.([A-Za-z]+)$/.exec(body);
  if (field !== null) {
    const fn = FIELDS[field[1] ?? ''];
    if (fn === undefined)
      throw new TemplateError(`unknown template field {{${body}}}; supported: ${SUPPORTED_ACTIONS.join(', ')}`);
    return fn;
  }
  if (body === 'newUUID') return () => randomUUID();
  const rs = /^randomString\s+(-?\d+)$/.exec(body);
  if (rs !== null) {
    const n = Number(rs[1]);
    return () => randomString(n);
  }
  throw new TemplateError(`unsupported template action {{${body}}}; supported: ${SUPPORTED_ACTIONS.join(', ')}`);
};

/** Parses once; `expand` then only concatenates. Go's trim markers ({{- and -}}) are honoured. */
export const compileTemplate = (text: string): Template => {
  const parts: Part[] = [];
  const re = /\{\{(-\s)?([\s\S]*?)(\s-)?\}\}/g;
  let last = 0;
  let literal = '';
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    literal += text.slice(last, m.index);
    if (m[1] !== undefined) literal = literal.trimEnd();
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push(action(m[2] ?? ''));
    last = m.index + m[0].length;
    if (m[3] !== undefined) while (/\s/.test(text[last] ?? '')) last++;
  }
  literal += text.slice(last);
  if (literal.includes('{{'))
    throw new TemplateError(`unterminated template action in ${JSON.stringify(text.slice(0, 80))}`);
  if (literal !== '') parts.push(literal);
  return { parts, isStatic: parts.every((p) => typeof p === 'string') };
};

export const expand = (t: Template, ctx: RequestContext): string => {
  let out = '';
  for (const p of t.parts) out += typeof p === 'string' ? p : p(ctx);
  return out;
};
