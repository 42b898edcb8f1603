// Private NATS, Redis and Postgres instances on free ports, for specs that stop, kill and restart a
// service (the shared ones on the default ports are never touched). Every child is killed if the
// test process exits first.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../loadtest/bench/processes.js';
import { NeverPasses, eventually } from './wait.js';
import type { ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Kills the child (SIGKILL) should the test process exit while it still runs; returns the untracking function. */
export const killOnExit = (child: ChildProcess): (() => void) => {
  children.add(child);
  return () => children.delete(child);
};

/** Whether something accepts TCP connections on the port (127.0.0.1). */
export const acceptsConnections = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

const waitForPort = (port: number, timeoutMs: number, alive: () => boolean): Promise<void> =>
  eventually(async () => {
    if (await acceptsConnections(port)) return;
    if (!alive()) throw new NeverPasses(`the process meant to listen on ${port} exited`);
    throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
  }, timeoutMs);

export type ServerProcess = {
  port: number;
  url: string;
  pid(): number | undefined;
  /** Kills the process (by its pid) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port (and store directory). */
  start(): Promise<void>;
  /** Stops it and removes its files. */
  destroy(): Promise<void>;
};

const serverProcess = async (
  port: number,
  scheme: string,
  command: string,
  args: string[],
  dir: string | null,
): Promise<ServerProcess> => {
  let child: ChildProcess | null = null;
  let log = '';
  const start = async () => {
    const c = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(c);
    c.stdout?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    c.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    child = c;
    try {
      await waitForPort(port, 15_000, () => c.exitCode === null && c.signalCode === null);
    } catch (err) {
      throw new Error(`${command} did not start: ${(err as Error).message}\n${log}`);
    }
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const c = child;
    child = null;
    if (c === null || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    process.kill(c.pid as number, signal);
    const timer = setTimeout(
      () => c.pid !== undefined && c.exitCode === null && process.kill(c.pid, 'SIGKILL'),
      10_000,
    );
    await exited;
    clearTimeout(timer);
    children.delete(c);
  };
  await start();
  return {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    pid: () => child?.pid,
    stop,
    start,
    async destroy() {
      await stop('SIGKILL');
      if (dir !== null) rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** A private nats-server with JetStream; `start()` after `stop()` reuses the port and the store directory. */
export const startPrivateNats = async (): Promise<ServerProcess> => {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sm-nats-'));
  return serverProcess(port, 'nats', 'nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], dir);
};

/** A private redis-server without persistence: a restart starts empty. */
export const startPrivateRedis = async (): Promise<ServerProcess> => {
  const port = await freePort();
  return serverProcess(
    port,
    'redis',
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    null,
  );
};

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** Runs a Postgres binary as the postgres user when we are root (initdb refuses root). */
const asPostgres = (bin: string, args: string[]): void => {
  const root = process.getuid?.() === 0;
  const [cmd, argv] = root
    ? ['runuser', ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args]]
    : [path.join(PG_BIN, bin), args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${r.status}): ${r.stdout}\n${r.stderr}`);
};

export type PrivatePostgres = {
  port: number;
  serverUrl: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
};

/** A private Postgres cluster (initdb + pg_ctl) on a free port; `destroy()` stops it and removes its files. */
export const startPrivatePostgres = async (): Promise<PrivatePostgres> => {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sm-pg-'));
  if (process.getuid?.() === 0) {
    const pgUser = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(dir, Number(pgUser.stdout.trim()), Number(gid.stdout.trim()));
  }
  const data = path.join(dir, 'data');
  asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync']);
  let running = false;
  const start = async () => {
    asPostgres('pg_ctl', [
      '-D',
      data,
      '-l',
      path.join(dir, 'log'),
      '-w',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`,
      'start',
    ]);
    running = true;
  };
  const stop = async () => {
    if (!running) return;
    asPostgres('pg_ctl', ['-D', data, '-w', '-m', 'fast', 'stop']);
    running = false;
  };
  await start();
  return {
    port,
    serverUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    async destroy() {
      await stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
