// Structured JSON logs on stderr (stdout is for command output such as tokens).
import { destination, pino } from 'pino';
import type { Logger } from 'pino';

export const createLogger = (level: string, name: string): Logger =>
  pino({ level, name, base: { pid: process.pid }, redact: ['req.headers.authorization', 'token'] }, destination(2));
