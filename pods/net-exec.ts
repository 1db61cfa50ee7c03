/**
 * Runs the network tools (ip, nft, nsenter) without a shell: every argument is passed as is, and a
 * ruleset goes in on stdin, so no name or label can change what a command does. execa (9: 10 needs
 * Node 22, the project supports 20) spawns, feeds stdin and collects the output; a command that exits
 * before reading its stdin makes the write fail with EPIPE, which execa ignores
 * (lib/resolve/wait-stream.js), so its exit status says why.
 */
import { spawnSync } from "node:child_process";
import { execa } from "execa";
import { CommandFailedError } from "../lib/errors.ts";

/** A hung `ip` or `nft` must not hang the runner; none of them takes more than a fraction of this. */
const COMMAND_TIMEOUT_MS = 30_000;

export interface RunOptions {
  /** Written to the command's stdin (an nft ruleset, an `ip -batch` script). */
  input?: string;
  timeoutMs?: number;
}

export async function run(command: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const argv = [command, ...args];
  const r = await execa(command, args, { input: opts.input ?? "", timeout: opts.timeoutMs ?? COMMAND_TIMEOUT_MS, killSignal: "SIGKILL", reject: false, stripFinalNewline: false });
  if (!r.failed) return r.stdout;
  // Neither an exit code nor a signal: it never ran (ENOENT, EACCES); r.cause is spawn's error.
  if (r.exitCode === undefined && r.signal === undefined) {
    const cause = r.cause instanceof Error ? r.cause : new Error(r.shortMessage);
    throw new CommandFailedError(argv, null, cause.message, { cause });
  }
  throw new CommandFailedError(argv, r.exitCode ?? null, r.signal ? `${r.stderr}killed by ${r.signal}` : r.stderr);
}

/** For the process 'exit' handler, where nothing asynchronous runs any more; failures are ignored. */
export function runQuietSync(command: string, args: string[]): boolean {
  const r = spawnSync(command, args, { stdio: "ignore", timeout: COMMAND_TIMEOUT_MS });
  return r.status === 0;
}

/** True when the command failed because the object (link, netns) is already gone. */
export function isGone(err: unknown): boolean {
  return err instanceof CommandFailedError && /Cannot find device|does not exist|No such file or directory|Cannot open network namespace/i.test(err.stderr ?? "");
}
