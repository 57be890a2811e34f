// Logger set-up and shutdown for every long-running command (controller, agent, ztunnel; the
// waypoint later): JSON lines (pino) on stdout named after the component, the level from
// AMBIT_LOG_LEVEL (default info) unless a flag gives one, and an exit that flushes first. The
// base fields given here (e.g. `node`) are on every line: log calls must not repeat them.
import { pino, type Logger } from 'pino';
import { AmbitError, defineErrors } from '../errors.js';

export const LOG_LEVEL_ENV = 'AMBIT_LOG_LEVEL';
export const DEFAULT_LOG_LEVEL = 'info';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

class LoggerError extends AmbitError<'LOG_BAD_LEVEL'> {}
const loggerError = defineErrors(LoggerError, { LOG_BAD_LEVEL: `use one of ${LEVELS.join(', ')}` });

/** The level AMBIT_LOG_LEVEL asks for, `info` when unset or empty. */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const v = env[LOG_LEVEL_ENV]?.trim();
  return v ? v : DEFAULT_LOG_LEVEL;
}

export interface LoggerOptions {
  /** Fields on every line besides `name` and `pid`, e.g. `{ node }`. */
  base?: Record<string, unknown>;
  /** A level from a flag; AMBIT_LOG_LEVEL (default info) otherwise. */
  level?: string | undefined;
  /** Where lines go: stdout unless given (tests). */
  destination?: NodeJS.WritableStream;
}

/**
 * The component's root logger. An unknown level fails here, naming the variable, rather than
 * inside pino with a message that does not say where the level came from.
 */
export function createLogger(component: string, o: LoggerOptions = {}): Logger {
  const level = o.level ?? logLevelFromEnv();
  if (!LEVELS.includes(level))
    throw loggerError('LOG_BAD_LEVEL', `unknown log level "${level}" (${LOG_LEVEL_ENV} or --log-level)`);
  const options = { name: component, level, base: { ...o.base, pid: process.pid } };
  return o.destination ? pino(options, o.destination) : pino(options);
}

/** Exits the process once the logger's buffered lines are written (pino's stdout is sync; this keeps it so). */
export function exitAfterFlush(logger: Logger, code: number): void {
  logger.flush(() => process.exit(code));
}
