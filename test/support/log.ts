// Log lines as signals: a spec waits for the line a component writes once something happened that
// it cannot otherwise observe (a failed connection attempt, a registered watcher).
import { expect } from 'vitest';
import { pino } from 'pino';
import { eventually } from './wait.js';
import type { Logger } from 'pino';

export type RecordingLog = { log: Logger; count(msg: string): number };

/** A logger that keeps every line it writes, for in-process components. */
export const recordingLog = (level: 'debug' | 'info' | 'warn' = 'debug'): RecordingLog => {
  const messages: string[] = [];
  const log = pino({ level }, { write: (line: string) => messages.push((JSON.parse(line) as { msg: string }).msg) });
  return { log, count: (msg) => messages.filter((m) => m === msg).length };
};

/** How many JSON log lines of a child process's output carry `msg`. */
export const logLines = (output: string, msg: string): number =>
  output.split(`"msg":${JSON.stringify(msg)}`).length - 1;

/**
 * Runs `act`, then waits until the process has logged `msg` once more than before: e.g. a location
 * watch (which sends nothing first) is registered once the core logs 'watcher registered' at debug level.
 */
export const loggedAfter = async <T>(
  output: () => string,
  msg: string,
  act: () => T,
  timeoutMs = 10_000,
): Promise<T> => {
  const before = logLines(output(), msg);
  const result = act();
  await eventually(async () => expect(logLines(output(), msg)).toBeGreaterThan(before), timeoutMs);
  return result;
};
