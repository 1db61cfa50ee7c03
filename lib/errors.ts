/**
 * The base of every error a user of the project's commands can cause: each subclass has a stable
 * `code`, so CLIs and tests branch on the code, never on message text, and a CLI can tell a problem to
 * fix (one message, no stack trace) from a bug (the stack is where to look). Internal "cannot happen"
 * assertions stay plain Errors on purpose. docs/errors.md lists every code (`npm run docs` writes it
 * from these classes' declarations).
 */
export interface PoolingErrorOptions extends ErrorOptions {
  /** What to do about it, when the message alone does not say. */
  fix?: string;
}

export abstract class PoolingError extends Error {
  abstract readonly code: string;
  readonly fix: string | undefined;
  constructor(message: string, options?: PoolingErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.fix = options?.fix;
  }
}

/**
 * Input the user must change before anything can run: a command line, a stack file, a flag's value.
 * CLIs exit 2 for these and 1 for every other failure, so a script can tell "you asked wrongly" from
 * "it did not work".
 */
export abstract class InputError extends PoolingError {}

/** A command line a CLI cannot parse: an unknown flag, a missing value, a missing required flag. */
export class CliUsageError extends InputError {
  readonly code = "POOLING_CLI_USAGE";
}

/**
 * A command (ip, nft, kind, pulumi, ...) exited non-zero or could not start. `stderr` is what it wrote
 * when that was captured; undefined when its output went to the terminal, above the message.
 */
export class CommandFailedError extends PoolingError {
  readonly code = "POOLING_COMMAND_FAILED";
  constructor(
    readonly command: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string | undefined,
    options?: PoolingErrorOptions,
  ) {
    const said = stderr === undefined ? "" : `: ${stderr.trim() === "" ? "no output" : stderr.trim()}`;
    super(`${command.join(" ")} failed (exit ${exitCode ?? "none"})${said}`, options);
  }
}

/**
 * Something a command needs is not installed or not running. It is found before anything starts, and
 * the message lists every missing piece with how to get it.
 */
export class PrerequisitesMissingError extends PoolingError {
  readonly code = "POOLING_PREREQUISITES_MISSING";
  constructor(
    readonly command: string,
    readonly missing: readonly string[],
  ) {
    super(`${command} cannot start:\n${missing.map((m) => `  - ${m}`).join("\n")}`);
  }
}

/** The exit status a CLI ends with for `err`: 2 for input to change, 1 for anything else. */
export const exitCodeOf = (err: unknown): 1 | 2 => (err instanceof InputError ? 2 : 1);

/**
 * What a CLI prints for an error that ends it: a PoolingError as its code and message (and its fix),
 * with no stack trace; anything else is a bug, told with its stack.
 */
export function describeCliError(err: unknown): string {
  if (err instanceof PoolingError) return `error ${err.code}: ${err.message}${err.fix === undefined ? "" : `\nfix: ${err.fix}`}`;
  return err instanceof Error ? `unexpected error (a bug): ${err.stack ?? err.message}` : `unexpected error (a bug): ${String(err)}`;
}
