// Real `stockmind` commands in child processes: long-running ones until their output says they are
// ready, and one-shot ones to completion.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { killOnExit } from './servers.js';
import type { ChildProcess } from 'node:child_process';

const BIN = fileURLToPath(new URL('../../bin/stockmind.mjs', import.meta.url));

export type CliProcess = {
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
};

/** Starts `stockmind <args>` and resolves once its output matches `ready`. */
export const startCliProcess = async (
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs = 30_000,
): Promise<CliProcess> => {
  const child = spawn(process.execPath, [BIN, ...args], {
    // Metrics on any free port: processes started side by side must not race for 9464.
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', STOCKMIND_METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const untrack = killOnExit(child);
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`stockmind ${args.join(' ')} not ready in ${timeoutMs} ms:\n${out}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`stockmind ${args.join(' ')} exited with ${code} before it was ready:\n${out}`));
    });
  });
  return {
    child,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      untrack();
      return code;
    },
  };
};

export type CliResult = { code: number | null; stdout: string; stderr: string };

/**
 * Runs `stockmind <args>` to completion (NODE_ENV=test unless `env` says
 * otherwise; an undefined value removes a variable). With `until`, the
 * process gets SIGTERM once its output matches.
 */
export const runCli = (
  args: string[],
  env: Record<string, string | undefined>,
  until?: RegExp,
  timeoutMs = 30_000,
): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const fullEnv: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      STOCKMIND_METRICS_PORT: '0',
    };
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete fullEnv[k];
      else fullEnv[k] = v;
    }
    const child = spawn(process.execPath, [BIN, ...args], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const onData = () => {
      if (until?.test(stdout + stderr)) child.kill('SIGTERM');
    };
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onData();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onData();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`stockmind ${args.join(' ')} did not exit in ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
