/**
 * Runs the network tools (ip, nft, nsenter) without a shell: every argument is passed as is, and a
 * ruleset goes in on stdin, so no name or label can change what a command does.
 */
import { spawn, spawnSync } from "node:child_process";
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
  return new Promise<string>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], timeout: opts.timeoutMs ?? COMMAND_TIMEOUT_MS, killSignal: "SIGKILL" });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    // A command that exits before reading its stdin makes the write fail with EPIPE; its exit status says why.
    child.stdin.on("error", () => undefined);
    child.on("error", (cause) => reject(new CommandFailedError(argv, null, cause.message, { cause })));
    child.on("close", (code, signal) => {
      const stderr = Buffer.concat(err).toString("utf8");
      if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
      else reject(new CommandFailedError(argv, code, signal ? `${stderr}killed by ${signal}` : stderr));
    });
    child.stdin.end(opts.input ?? "");
  });
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
