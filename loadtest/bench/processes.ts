// Starts real StockMind processes on free ports (benchmarks and e2e tests).
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';

const BIN = fileURLToPath(new URL('../../bin/stockmind.mjs', import.meta.url));

export const freePort = async (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });

export type CoreHandle = {
  port: number;
  url: string;
  child: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
};

/**
 * Starts `stockmind core` (or `stockmind start`, the whole stack) and resolves
 * once the core prints that it listens.
 */
export const startCoreProcess = async (
  env: Record<string, string>,
  timeoutMs = 30_000,
  command: 'core' | 'start' = 'core',
): Promise<CoreHandle> => {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, command], {
    // Metrics on any free port: processes started side by side must not race for 9464.
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      CORE_PORT: String(port),
      STOCKMIND_METRICS_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`core did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    child.stdout?.on('data', () => {
      if (out.includes('core listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`core exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
};
