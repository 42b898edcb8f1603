// The database's own speed on this machine, measured in the same run as a benchmark: pgbench
// single-row inserts into bench_baseline.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const pgbenchTps = async (databaseUrl: string, concurrency: number, seconds: number): Promise<number> => {
  const script = `${os.tmpdir()}/stockmind-bench-${process.pid}.sql`;
  await writeFile(script, "insert into bench_baseline (tenant_id, payload) values ('bench', '{\"quantity\": 1}');\n");
  const { stdout } = await run('pgbench', [
    '-n',
    '-M',
    'prepared',
    '-c',
    String(concurrency),
    '-j',
    String(Math.min(concurrency, 2)),
    '-T',
    String(Math.max(1, Math.round(seconds))),
    '-f',
    script,
    databaseUrl,
  ]);
  const found = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
  if (found === null) throw new Error(`could not read pgbench output:\n${stdout}`);
  return Number(found[1]);
};
