// Markdown rows from runner JSON files: tsx loadtest/summarize.ts <file.json>...
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoadtestOutcome } from './main.js';

const ms = (ns: number | undefined) => (ns === undefined ? '–' : (ns / 1e6).toFixed(2));

const rows: string[] = [];
for (const file of process.argv.slice(2)) {
  const r = JSON.parse(await readFile(file, 'utf8')) as LoadtestOutcome['result'];
  const p = (q: number) => r.latencyDistribution?.find((d) => d.percentage === q)?.latency;
  const o = r.options as { rps: number | null; concurrency: number };
  const statuses = Object.entries(r.statusCodeDistribution)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const lag =
    r.commitToRedisLag === undefined
      ? ''
      : ` lag p50/p95/p99/max ${ms(r.commitToRedisLag.p50Ns)}/${ms(r.commitToRedisLag.p95Ns)}/${ms(r.commitToRedisLag.p99Ns)}/${ms(r.commitToRedisLag.maxNs)} ms (${r.commitToRedisLag.measured} measured, ${r.commitToRedisLag.pending} pending)`;
  const base =
    r.baseline === undefined
      ? ''
      : ` pgbench ${r.baseline.pgbenchTps.toFixed(0)} tps, ratio ${r.baseline.ratio.toFixed(3)}`;
  rows.push(
    `| ${path.basename(file, '.json')} | ${o.rps ?? 'closed'} | ${o.concurrency} | ${r.rps.toFixed(0)} | ${ms(p(50))} | ${ms(p(95))} | ${ms(p(99))} | ${ms(r.slowest)} | ${statuses} |${base}${lag}`,
  );
}
process.stdout.write(
  `| run | target rps | callers | calls/s | p50 ms | p95 ms | p99 ms | max ms | status |\n|---|---|---|---|---|---|---|---|---|\n${rows.join('\n')}\n`,
);
