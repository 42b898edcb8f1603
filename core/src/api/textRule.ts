// The text rule (platform/text.ts) over every string field of every request, nested messages and
// lists included, before any handler runs, on both ports: a field added to a request later is
// covered without anyone remembering to check it. Fields are named as the Checker names them
// (`lines[1].sku`).
import { ScalarType } from '@bufbuild/protobuf';
import { reflect } from '@bufbuild/protobuf/reflect';
import { invalidArgument } from '../../../platform/errors.js';
import { textDefect } from '../../../platform/text.js';
import type { DescField, DescMessage, DescService, Message } from '@bufbuild/protobuf';
import type { ReflectMessage } from '@bufbuild/protobuf/reflect';
import type { FieldViolation } from '../../../platform/errors.js';

const check = (field: string, value: unknown, out: FieldViolation[]) => {
  if (typeof value !== 'string') return;
  const problem = textDefect(value);
  if (problem !== null) out.push({ field, description: problem });
};

const isString = (f: DescField) => 'scalar' in f && f.scalar === ScalarType.STRING;

const walk = (m: ReflectMessage, prefix: string, out: FieldViolation[]): void => {
  for (const f of m.fields) {
    if (!m.isSet(f)) continue;
    const name = `${prefix}${f.name}`;
    switch (f.fieldKind) {
      case 'scalar':
        if (isString(f)) check(name, m.get(f), out);
        break;
      case 'message':
        walk(m.get(f), `${name}.`, out);
        break;
      case 'list': {
        let i = 0;
        for (const v of m.get(f)) {
          if (f.listKind === 'message') walk(v as ReflectMessage, `${name}[${i}].`, out);
          else if (isString(f)) check(`${name}[${i}]`, v, out);
          i++;
        }
        break;
      }
      case 'map':
        for (const [k, v] of m.get(f)) {
          const at = `${name}[${JSON.stringify(k)}]`;
          check(`${at} (key)`, k, out);
          if (f.mapKind === 'message') walk(v as ReflectMessage, `${at}.`, out);
          else if (f.mapKind === 'scalar' && f.scalar === ScalarType.STRING) check(at, v, out);
        }
        break;
      case 'enum':
        break;
    }
  }
};

/** Every string field of `message` that breaks the text rule, named by its path. */
export const textViolations = (desc: DescMessage, message: Message): FieldViolation[] => {
  const out: FieldViolation[] = [];
  walk(reflect(desc, message), '', out);
  return out;
};

type AnyImpl = (request: Message, ctx: unknown) => unknown;

/**
 * The handlers of `service` with the text rule checked on each request first (INVALID_ARGUMENT
 * naming every bad field). Streams check before their first message.
 */
export const withTextRule = <T extends object>(service: DescService, impl: T): T => {
  const checked: Record<string, unknown> = { ...(impl as Record<string, unknown>) };
  for (const method of service.methods) {
    const fn = (impl as Record<string, AnyImpl | undefined>)[method.localName];
    if (fn === undefined) continue;
    const assertText = (req: Message) => {
      const violations = textViolations(method.input, req);
      if (violations.length > 0) throw invalidArgument(violations);
    };
    checked[method.localName] =
      method.methodKind === 'unary'
        ? async (req: Message, ctx: unknown) => {
            assertText(req);
            return fn.call(impl, req, ctx);
          }
        : async function* (req: Message, ctx: unknown) {
            assertText(req);
            yield* fn.call(impl, req, ctx) as AsyncIterable<unknown>;
          };
  }
  return checked as T;
};
