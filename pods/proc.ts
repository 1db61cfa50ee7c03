/**
 * Small process helpers for the process side: run a host tool without a shell (through execa, as
 * net-exec.ts does), read a process's mounts from /proc; the process liveness, children and kill-tree
 * helpers are lib/proc.ts's.
 */
import { readFileSync } from "node:fs";
import { execa } from "execa";
import { ContainerStartError } from "./errors.ts";

/** Runs a host tool (mount, umount, npm) with its arguments as given; resolves stdout, rejects with stderr. */
export async function run(command: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  // extendEnv false: an env given is the whole environment, as with spawn (execa adds process.env by default).
  const r = await execa(command, args, { cwd: opts.cwd, env: opts.env, extendEnv: opts.env === undefined, stdin: "ignore", timeout: opts.timeoutMs ?? 60_000, killSignal: "SIGKILL", reject: false, stripFinalNewline: false });
  if (!r.failed) return r.stdout;
  // Neither an exit code nor a signal: it never ran (ENOENT, EACCES); spawn's own error, as before.
  if (r.exitCode === undefined && r.signal === undefined) throw r.cause instanceof Error ? r.cause : new Error(r.shortMessage);
  throw new ContainerStartError(`${command} ${args.join(" ")} failed (${r.signal ?? r.exitCode}): ${r.stderr.trim() || r.stdout.trim()}`, r.exitCode ?? null);
}

export { childrenOf, isAlive, killTree } from "../lib/proc.ts";

/** Mount points at or under a path, from this process's mount table (deepest first, for unmounting). */
export function mountsUnder(path: string): string[] {
  const prefix = path.endsWith("/") ? path : `${path}/`;
  const out: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const mp = line.split(" ")[4];
    if (!mp) continue;
    // mountinfo escapes space, tab, newline and backslash as octal.
    const p = mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (p === path || p.startsWith(prefix)) out.push(p);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Single-quotes a string for /bin/sh; any byte but NUL survives. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
