/**
 * Everything the process itself would print on stderr goes through the logger instead: Node's
 * process warnings (the default printer is removed), and console output from libraries (the AWS
 * SDK, for one, falls back to console.warn). Stdout stays the command's own output.
 */
import { format } from 'node:util';
import { type LogFormat, type LogLevel, type Logger, createLogger } from '../util/logger.js';

export interface LogSettings {
  format: LogFormat;
  level: LogLevel;
}

const LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error'];

/** The value of `--name value` or `--name=value` in argv (the last one wins, as in commander). */
function flagValue(argv: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === name) value = argv[i + 1];
    else if (a.startsWith(`${name}=`)) value = a.slice(name.length + 1);
  }
  return value;
}

/**
 * --log.format and --log.level read before commander parses: warnings and the error line of a
 * parse failure need them before any command runs. Bad values fall back to the defaults here;
 * the command itself rejects them.
 */
export function logSettingsFromArgv(argv: readonly string[]): LogSettings {
  const f = flagValue(argv, '--log.format');
  const l = flagValue(argv, '--log.level');
  return {
    format: f === 'json' ? 'json' : 'logfmt',
    level: l !== undefined && LEVELS.includes(l) ? (l as LogLevel) : 'warn',
  };
}

/** Sends process warnings and console output to `logger`; returns the logger. */
export function routeProcessOutput(settings: LogSettings): Logger {
  const logger = createLogger(settings).child({ component: 'process' });
  process.removeAllListeners('warning');
  process.on('warning', (w: Error) => {
    const code = 'code' in w && typeof w.code === 'string' ? { code: w.code } : {};
    logger.warn(w.message, { warning: w.name, ...code });
  });
  const toWarn = (...args: unknown[]): void => logger.warn(format(...args), { source: 'console' });
  const toDebug = (...args: unknown[]): void => logger.debug(format(...args), { source: 'console' });
  console.error = toWarn;
  console.warn = toWarn;
  console.trace = toWarn;
  // A library's console.log would corrupt piped command output (stdout) otherwise.
  console.log = toDebug;
  console.info = toDebug;
  console.debug = toDebug;
  return logger;
}
