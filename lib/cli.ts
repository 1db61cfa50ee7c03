/**
 * The one way a command of this project ends: every entry point hands its `main` to `runCli`. A coded
 * error (a PoolingError) is told as its code, message and fix with no stack trace, exit 2 when the
 * input must change (InputError: the command line, a stack file) and 1 for any other failure; anything
 * else is a bug and is told with its stack, exit 1.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { CliUsageError, describeCliError, exitCodeOf } from "./errors.ts";

/** A command's body: its exit status (undefined for 0), or a throw. */
export type CliMain = (argv: string[]) => number | void | Promise<number | void>;

export interface RunCliOptions {
  /** Written before the error's first line, e.g. "[pooling] " (a function for a timestamp). */
  prefix?: string | (() => string);
  /**
   * Call process.exit with the status instead of setting process.exitCode: for commands whose
   * servers, watchers or timers would otherwise keep the process alive after main returns.
   */
  exit?: boolean;
  /** The arguments; process.argv without node and the script by default. */
  argv?: string[];
}

/** Whether the module at `importMetaUrl` is the script node was started with (not imported by a test). */
export function isMain(importMetaUrl: string): boolean {
  return process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(importMetaUrl);
}

/**
 * node's parseArgs, strict, with its errors (unknown flag, missing value) as a CliUsageError whose
 * message ends with `usage`, so the right form is printed beside what was wrong.
 */
export function parseCommandLine<T extends ParseArgsConfig>(config: T, usage?: string): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs<T>({ strict: true, ...config });
  } catch (err) {
    throw new CliUsageError(usage === undefined ? (err as Error).message : `${(err as Error).message}\n\n${usage}`, { cause: err });
  }
}

/** The text `runCli` prints for `err`, and the status it exits with. */
export function cliFailure(err: unknown, options: Pick<RunCliOptions, "prefix"> = {}): { text: string; status: 1 | 2 } {
  const text = describeCliError(err);
  const prefix = typeof options.prefix === "function" ? options.prefix() : (options.prefix ?? "");
  return { text: prefix === "" ? text : text.split("\n").map((l, i) => (i === 0 ? `${prefix}${l}` : l)).join("\n"), status: exitCodeOf(err) };
}

/** Runs `main` and ends the process the one way every command ends (see the file's comment). */
export function runCli(main: CliMain, options: RunCliOptions = {}): Promise<number> {
  const finish = (status: number): number => {
    if (options.exit) process.exit(status);
    process.exitCode = status;
    return status;
  };
  return Promise.resolve()
    .then(() => main(options.argv ?? process.argv.slice(2)))
    .then(
      (status) => finish(status ?? 0),
      (err: unknown) => {
        const { text, status } = cliFailure(err, options);
        process.stderr.write(`${text}\n`);
        return finish(status);
      },
    );
}
