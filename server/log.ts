// Structured logs with pino, to stderr: stdout carries only the machine-readable event lines.
import pino from 'pino';
import type { Logger } from '../lib/core/log.ts';

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger & { level: string } {
  return pino({ level, base: { name: 'kitsune' } }, pino.destination(2));
}
