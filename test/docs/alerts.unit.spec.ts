// docs/prometheus/alerts.yml as Prometheus would load it: the rule file's shape, expressions that
// use only metrics the README lists, and a runbook section behind every alert. Where promtool is
// installed, it checks the file too.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

type Rule = {
  alert?: unknown;
  expr?: unknown;
  for?: unknown;
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
};
const FILE = 'docs/prometheus/alerts.yml';
const doc = parse(readFileSync(FILE, 'utf8')) as { groups?: { name?: unknown; rules?: Rule[] }[] };
const rules = (doc.groups ?? []).flatMap((g) => g.rules ?? []);
const readme = readFileSync('README.md', 'utf8');
const runbook = readFileSync('docs/runbook.md', 'utf8');

const promtool = (() => {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('suggested alert rules', () => {
  it('is a rule file: named groups of rules, each an alert with an expression, a duration, a severity and a summary', () => {
    expect(doc.groups?.length).toBeGreaterThan(0);
    for (const g of doc.groups ?? []) expect(typeof g.name).toBe('string');
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules) {
      expect(r.alert).toMatch(/^Stockmind[A-Z][A-Za-z]+$/);
      expect(typeof r.expr === 'string' && r.expr.trim() !== '').toBe(true);
      expect(r.for).toMatch(/^\d+[smh]$/);
      expect(['page', 'warn', 'info']).toContain(r.labels?.severity);
      expect(typeof r.annotations?.summary).toBe('string');
      const expr = String(r.expr);
      expect(expr.split('(').length, `${String(r.alert)}: parentheses`).toBe(expr.split(')').length);
    }
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  });

  it('uses only metrics the README lists', () => {
    for (const r of rules) {
      for (const [name] of String(r.expr).matchAll(/stockmind_[a-z_]+/g)) {
        const metric = name.replace(/^stockmind_/, '').replace(/_(bucket|count|sum)$/, '');
        expect(readme, `${String(r.alert)} uses ${name}`).toContain(`\`${metric}\``);
      }
    }
  });

  it('points every alert at its section of the runbook', () => {
    for (const r of rules) {
      const alert = String(r.alert);
      expect(r.annotations?.runbook).toBe(`docs/runbook.md#${alert.toLowerCase()}`);
      expect(runbook).toContain(`\n### ${alert}\n`);
    }
  });

  it.skipIf(!promtool)('passes promtool check rules', () => {
    expect(() => execFileSync('promtool', ['check', 'rules', FILE], { stdio: 'pipe' })).not.toThrow();
  });
});
