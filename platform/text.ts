// The one rule for text at every entry point (core RPCs, REST edge, marketplace gateway): no NUL, no
// control character but tab and newline, no lone surrogate. Postgres refuses NUL in text and jsonb
// (a 500 on every retry), control characters forge log lines and break terminals and CSV, and a lone
// surrogate is not Unicode at all: UTF-8 cannot carry it, so it would be replaced or refused later.
// Keys (SKUs, location ids) are stricter: no tab or newline either.
import { z } from 'zod';

// With the u flag a paired surrogate is one code point, so [\ud800-\udfff] matches only lone ones.
// eslint-disable-next-line no-control-regex
const IN_TEXT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ud800-\udfff]/u;
// eslint-disable-next-line no-control-regex
const IN_KEY = /[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/u;

const hex = (c: number) => `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;

const defect = (value: string, forbidden: RegExp, allowed: string): string | null => {
  const m = forbidden.exec(value);
  if (m === null) return null;
  const code = m[0].charCodeAt(0);
  const at = `at position ${m.index}`;
  if (code === 0) return `must not contain NUL (U+0000, ${at})`;
  if (code >= 0xd800 && code <= 0xdfff)
    return `must not contain a lone surrogate (${hex(code)}, ${at}); send well-formed Unicode`;
  return `must not contain control characters (${hex(code)}, ${at}); ${allowed}`;
};

/** What is wrong with free text (a reason, a reference, a name), or null when it may be stored. */
export const textDefect = (value: string): string | null => defect(value, IN_TEXT, 'only tab and newline are allowed');

/** What is wrong with a key (SKU, location id), or null: free text's rule, and no tab or newline either. */
export const keyDefect = (value: string): string | null => defect(value, IN_KEY, 'keys allow none');

/** Marks the zod issues this rule raised (`issue.params.rule`), so a caller can tell them from others. */
export const TEXT_RULE = 'text';

const refined = (check: (v: string) => string | null) => (schema: z.ZodString) =>
  schema.superRefine((value, ctx) => {
    const problem = check(value);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem, params: { rule: TEXT_RULE } });
  });

/** A zod string under the text rule. */
export const safeText = (schema: z.ZodString = z.string()): z.ZodString => refined(textDefect)(schema);

/** A zod string under the key rule. */
export const safeKey = (schema: z.ZodString = z.string()): z.ZodString => refined(keyDefect)(schema);

/** True for an issue raised by `safeText` or `safeKey`. */
export const isTextIssue = (issue: z.core.$ZodIssue): boolean =>
  issue.code === 'custom' && (issue.params as { rule?: unknown } | undefined)?.rule === TEXT_RULE;
