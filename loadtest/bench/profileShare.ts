// Where a CPU profile (node --cpu-prof) spends its samples, by component:
// which share of the core's CPU goes to the Connect server, HTTP/2, protobuf,
// pg, ioredis, our own code. Usage: tsx loadtest/profileShare.ts <file.cpuprofile>
import { readFile } from 'node:fs/promises';

type Node = { id: number; callFrame: { url: string; functionName: string }; children?: number[] };
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[] };

const RULES: [string, (url: string, fn: string) => boolean][] = [
  ['idle', (_u, f) => f === '(idle)'],
  ['garbage collector', (_u, f) => f === '(garbage collector)'],
  ['connect-node / connect (server, interceptors, protocol)', (u) => u.includes('@connectrpc/')],
  ['protobuf-es (encode/decode)', (u) => u.includes('@bufbuild/protobuf')],
  [
    'node http2 + net + streams',
    (u) =>
      /node:(internal\/)?(http2|net|stream|_stream|timers|events|buffer)|internal\/(http2|streams|stream_base|net|timers)/.test(
        u,
      ),
  ],
  ['pg driver', (u) => u.includes('/node_modules/pg') || u.includes('pg-protocol') || u.includes('pg-pool')],
  ['ioredis', (u) => u.includes('/node_modules/ioredis') || u.includes('redis-parser')],
  ['jose (token verify)', (u) => u.includes('/node_modules/jose')],
  ['pino (logging)', (u) => u.includes('/node_modules/pino')],
  ['StockMind code (core/, projectors/)', (u) => u.includes('/core/src/') || u.includes('/projectors/')],
  ['other node_modules', (u) => u.includes('/node_modules/')],
  ['native / program / other node internals', () => true],
];

export const shareByComponent = (p: Profile): { component: string; ms: number; share: number }[] => {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const node = byId.get(id);
    const { url, functionName } = node?.callFrame ?? { url: '', functionName: '' };
    const component = RULES.find(([, match]) => match(url, functionName))?.[0] ?? 'other';
    totals.set(component, (totals.get(component) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  });
  const busy = [...totals.entries()].filter(([k]) => k !== 'idle').reduce((a, [, v]) => a + v, 0);
  return [...totals.entries()]
    .filter(([k]) => k !== 'idle')
    .map(([component, ms]) => ({ component, ms, share: ms / busy }))
    .sort((a, b) => b.ms - a.ms);
};

if (process.argv[1]?.endsWith('profileShare.ts')) {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: tsx loadtest/profileShare.ts <file.cpuprofile>');
  const rows = shareByComponent(JSON.parse(await readFile(file, 'utf8')) as Profile);
  process.stdout.write(
    `| component (self time) | CPU ms | share of busy CPU |\n|---|---|---|\n${rows.map((r) => `| ${r.component} | ${r.ms.toFixed(0)} | ${(r.share * 100).toFixed(1)} % |`).join('\n')}\n`,
  );
}
