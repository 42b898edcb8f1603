// Helpers for read-side integration specs: a namespace per spec (JetStream
// stream, subjects, consumers and Redis keys), what JetStream holds, real CLI
// processes, and private NATS / Redis / Postgres instances for specs that kill
// a service (the shared ones on the default ports are never touched).
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '../../platform/nats.js';
import { createRedis } from '../../platform/redis.js';
import { eventStreamName } from '../../contracts/names.js';
import { streamIdOf } from '../../contracts/envelope.js';
import { freePort } from '../../loadtest/bench/processes.js';
import { NeverPasses, eventually } from './wait.js';
import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Envelope } from '../../contracts/envelope.js';

export const SHARED_NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
export const SHARED_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const BIN = fileURLToPath(new URL('../../bin/stockmind.mjs', import.meta.url));

export const silentLog = pino({ level: 'silent' });

export { cleanupNamespace, testNamespace } from '../../loadtest/bench/stack.js';

export const sharedNats = (name: string): Promise<NatsConnection> => connectNats(SHARED_NATS_URL, name);
export const sharedRedis = (name: string, commandTimeoutMs = 2_000): Redis =>
  createRedis(SHARED_REDIS_URL, { commandTimeoutMs, name });

export type StoredEvent = { seq: number; subject: string; msgId: string | undefined; envelope: Envelope };

/** How many messages the namespace's stream holds (0 when it does not exist yet). */
export const streamMessageCount = async (nc: NatsConnection, namespace: string): Promise<number> => {
  const jsm = await jetstreamManager(nc);
  try {
    return (await jsm.streams.info(eventStreamName(namespace))).state.messages;
  } catch {
    return 0;
  }
};

/** Every message of the namespace's stream, in stream order. */
export const readStream = async (nc: NatsConnection, namespace: string): Promise<StoredEvent[]> => {
  const jsm = await jetstreamManager(nc);
  const name = eventStreamName(namespace);
  const { state } = await jsm.streams.info(name);
  const out: StoredEvent[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(name, { seq });
    if (m === null) continue;
    out.push({
      seq: m.seq,
      subject: m.subject,
      msgId: m.header.get('Nats-Msg-Id') || undefined,
      envelope: m.json<Envelope>(),
    });
  }
  return out;
};

/** Pending plus unacknowledged messages of a durable consumer (0 = caught up). */
export const consumerBacklog = async (nc: NatsConnection, namespace: string, durable: string): Promise<number> => {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.consumers.info(eventStreamName(namespace), durable);
  return info.num_pending + info.num_ack_pending;
};

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

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
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
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
      children.delete(child);
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
    const fullEnv: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'warn' };
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

/** A stock-item event envelope shaped as the relay publishes it, for specs that publish by hand. */
export const stockEnvelope = (o: {
  tenantId: string;
  locationId: string;
  sku: string;
  version: number;
  payload: unknown;
  producer: string;
}): Envelope => {
  const stream = { kind: 'stock_item' as const, locationId: o.locationId, sku: o.sku, reservationId: '' };
  const at = new Date().toISOString();
  return {
    eventId: randomUUID(),
    eventType: 'stockmind.stock.stock_received.v1',
    schemaVersion: 1,
    tenantId: o.tenantId,
    streamId: streamIdOf(stream),
    stream,
    streamVersion: o.version,
    globalPosition: String(o.version),
    occurredAt: at,
    recordedAt: at,
    producer: o.producer,
    correlationId: randomUUID(),
    causationId: '',
    traceId: null,
    channel: null,
    operator: 'spec',
    policyVersion: 0,
    payload: o.payload,
  };
};
