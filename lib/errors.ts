/**
 * The base of every error a user of `infra/`, `local/` and the scripts can cause: each subclass has a
 * stable `code`, so CLIs and tests branch on the code, never on message text, and a CLI can tell a
 * problem to fix (one message, no stack trace) from a bug (the stack is where to look). Internal
 * "cannot happen" assertions stay plain Errors on purpose.
 */
export abstract class PoolingError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A command line a CLI cannot parse: an unknown flag, a missing value, a missing required flag. */
export class CliUsageError extends PoolingError {
  readonly code = "POOLING_CLI_USAGE";
}

/**
 * What a CLI prints for an error that ends it: a PoolingError as its code and message, with no stack
 * trace; anything else is a bug, told with its stack.
 */
export function describeCliError(err: unknown): string {
  if (err instanceof PoolingError) return `error ${err.code}: ${err.message}`;
  return err instanceof Error ? `unexpected error (a bug): ${err.stack ?? err.message}` : `unexpected error (a bug): ${String(err)}`;
}
