// Usage errors: a command line the CLI cannot run. They go to stderr with the usage text and exit 2
// (errors of the work itself exit 1).
import { nearest } from '../config/problems';

export class UsageError extends Error {}

/** node:util parseArgs's own errors (unknown option, missing value) as a UsageError, with the nearest
 *  option the CLI knows when the given one looks like a typo. */
export function asUsageError(error: unknown, usage: string): UsageError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (!code?.startsWith('ERR_PARSE_ARGS')) return undefined;
  const message = (error as Error).message.split('. ')[0].replace(/\.$/, '');
  const given = /'(--?[\w-]+)/.exec(message)?.[1];
  const guess = given && code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? nearest(given, [...new Set(usage.match(/--[a-z][\w-]*/g) ?? [])]) : undefined;
  return new UsageError(`${message}${guess ? ` (did you mean ${guess}?)` : ''}`);
}
