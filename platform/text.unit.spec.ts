import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isTextIssue, keyDefect, safeKey, safeText, textDefect } from './text.js';

describe('the text rule', () => {
  it.each([
    ['plain text', 'out of delivery area'],
    ['tab and newline', 'line one\n\tline two'],
    ['accents and CJK', 'Café 東京'],
    ['a paired surrogate (emoji)', 'box 📦'],
    ['the replacement character', 'bad byte \ufffd'],
    ['empty', ''],
  ])('accepts %s', (_, value) => {
    expect(textDefect(value)).toBeNull();
  });

  it.each([
    ['NUL', 'a\u0000b', 'must not contain NUL (U+0000, at position 1)'],
    ['escape', '\u001b[31mred', 'must not contain control characters (U+001B, at position 0)'],
    ['carriage return', 'a\r\nb', 'U+000D'],
    ['DEL', 'a\u007f', 'U+007F'],
    ['a C1 control', 'a\u0085', 'U+0085'],
    ['a lone high surrogate', 'ab\ud800', 'must not contain a lone surrogate (U+D800, at position 2)'],
    ['a lone low surrogate', '\udc00x', 'U+DC00'],
    ['two high surrogates', '\ud83d\ud83d\udce6', 'U+D83D, at position 0'],
  ])('refuses %s, saying which character and where', (_, value, expected) => {
    expect(textDefect(value)).toContain(expected);
  });

  it('refuses tab and newline in keys only', () => {
    expect(textDefect('SKU\t1')).toBeNull();
    expect(keyDefect('SKU\t1')).toContain('U+0009');
    expect(keyDefect('SKU\n1')).toContain('U+000A');
    expect(keyDefect('SKU-1 📦')).toBeNull();
  });

  it('marks its zod issues, and keeps the string schema chainable', () => {
    const schema = z.object({ reason: safeText().max(3), sku: safeKey(z.string().min(1)) });
    const r = schema.safeParse({ reason: 'a\u0000bcd', sku: 'x\ty' });
    expect(r.success).toBe(false);
    const issues = r.error?.issues ?? [];
    expect(issues.map((i) => [i.path.join('.'), isTextIssue(i)])).toEqual([
      ['reason', true],
      ['reason', false],
      ['sku', true],
    ]);
  });
});
