/**
 * Command-line conventions applied to every command once all are registered: usage errors are
 * one coded line with a pointer to the help (commander would print the whole help), option
 * values that fail to parse name their flag, and duration defaults show as `30m`, not ms.
 */
import { type Command, CommanderError, type Option } from 'commander';
import { InvalidArgumentError, isStrataError } from '../util/errors.js';
import { formatDuration } from '../util/duration.js';
import { durationArg } from './args.js';

/** `strata tsdb verify`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The command the last usage problem belongs to (parse errors happen before any action runs). */
let current: Command | undefined;

/** ` (see strata tsdb verify --help)`, or '' before any command is known. */
export function helpHint(): string {
  return current === undefined ? '' : ` (see ${commandPath(current)} --help)`;
}

function quoted(message: string): string {
  return /'([^']*)'/.exec(message)?.[1] ?? '';
}

/** Commander's sentence (`error: missing required argument 'blocks'`), shorter and flag first. */
function usageMessage(err: CommanderError, cmd: Command): string {
  const m = err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
  const flag = quoted(m).split(' ')[0] ?? '';
  switch (err.code) {
    case 'commander.missingArgument':
      return `missing argument ${quoted(m).toUpperCase()}`;
    case 'commander.optionMissingArgument':
      return `option ${flag} needs a value`;
    case 'commander.missingMandatoryOptionValue':
      return `missing required option ${flag}`;
    case 'commander.help': {
      // A group without its command, or `strata help NAME` for a command that does not exist.
      const names = cmd.commands.map((c) => c.name()).filter((n) => n !== 'help');
      const unknown = cmd.args.find((a) => !a.startsWith('-') && a !== 'help' && !names.includes(a));
      if (unknown !== undefined) return `unknown command '${unknown}'`;
      return `missing command: one of ${names.join(', ')}`;
    }
    default:
      return m;
  }
}

/** An option parser whose InvalidArgumentErrors name the flag (`--series: not a non-negative integer`). */
function namedParser(cmd: Command, opt: Option): void {
  const parse = opt.parseArg;
  if (parse === undefined) return;
  const name = opt.long ?? opt.short ?? opt.flags;
  opt.argParser((value: string, previous: unknown): unknown => {
    try {
      return parse(value, previous);
    } catch (err) {
      if (!isStrataError(err) || err.code !== 'ERR_INVALID_ARGUMENT') throw err;
      current = cmd;
      throw new InvalidArgumentError(`${name}: ${err.message}`, { cause: err });
    }
  });
}

function apply(cmd: Command): void {
  cmd.configureOutput({ writeErr: () => {}, outputError: () => {} });
  cmd.exitOverride((err: CommanderError): never => {
    // Help and --version exit 0 and go to stdout: not errors.
    if (err.exitCode === 0) throw err;
    current = cmd;
    throw new InvalidArgumentError(usageMessage(err, cmd), { cause: err });
  });
  for (const opt of cmd.options) {
    if (opt.parseArg === durationArg && typeof opt.defaultValue === 'number') {
      opt.defaultValueDescription = formatDuration(opt.defaultValue, 'h');
    }
    namedParser(cmd, opt);
  }
  for (const sub of cmd.commands) apply(sub);
}

/** Applies the conventions to `program` and every command under it (call after registering). */
export function applyCliConventions(program: Command): void {
  apply(program);
  program.hook('preAction', (_root, action) => {
    current = action;
  });
}

export function isHelpOrVersion(err: unknown): boolean {
  return err instanceof CommanderError && err.exitCode === 0;
}
