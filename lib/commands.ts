/**
 * Finding the programs a command runs, before it runs them: a missing one is named with the package
 * that has it, up front, instead of surfacing as a failed child process in the middle of a run.
 */
import { accessSync, constants } from "node:fs";
import { join } from "node:path";

/** Where root's programs live on Debian even when PATH (a user's, npm's) leaves them out. */
const SYSTEM_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** The folders a command is looked for in: PATH's, then the system directories. */
export const searchDirs = (path: string = process.env.PATH ?? ""): string[] => [...path.split(":"), ...SYSTEM_DIRS];

/** The executable `name` in the first of `dirs` that has it; undefined when none has. */
export function commandPath(name: string, dirs: readonly string[] = searchDirs()): string | undefined {
  for (const dir of dirs) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A program a command needs and the Debian package that installs it. */
export interface RequiredCommand {
  command: string;
  /** The Debian package (apt-get install PACKAGE). */
  debianPackage: string;
  /** What the command does with it, for the message. */
  usedFor: string;
}

/** Each missing command as a line that says what to install, in the order given. */
export function missingCommands(required: readonly RequiredCommand[], dirs?: readonly string[]): string[] {
  return required.filter((r) => commandPath(r.command, dirs) === undefined).map((r) => `\`${r.command}\` (${r.usedFor}): apt-get install ${r.debianPackage}`);
}
