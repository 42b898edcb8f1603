// Docs name files and folders in backticks; every one of them must exist, so a move cannot leave
// the README, the architecture or an ADR pointing at nothing.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ROOTS = [
  'cli',
  'platform',
  'contracts',
  'core',
  'projectors',
  'gateways',
  'loadtest',
  'test',
  'proto',
  'docs',
  'gen',
  'bin',
];
const DOCS = [
  'README.md',
  ...readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
  ...readdirSync('docs/adr').map((f) => `docs/adr/${f}`),
];

/** Backticked tokens that look like a repo path: start with a top-level folder, no spaces or wildcards. */
const pathsIn = (text: string): string[] =>
  [...text.matchAll(/`([^`\s]+)`/g)]
    .map((m) => (m[1] ?? '').replace(/[:#].*$/, '').replace(/[),.;]+$/, ''))
    .filter((p) => ROOTS.some((r) => p === r || p.startsWith(`${r}/`)) && !/[*{}<>$]/.test(p));

describe('paths named in the docs', () => {
  for (const doc of DOCS) {
    it(`${doc} names only paths that exist`, () => {
      const missing = pathsIn(readFileSync(doc, 'utf8')).filter((p) => !existsSync(p));
      expect([...new Set(missing)]).toEqual([]);
    });
  }
});
