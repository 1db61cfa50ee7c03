/**
 * Small process helpers for the process side: run a host tool without a shell, read a process's
 * mounts from /proc; the process liveness, children and kill-tree helpers are lib/proc.ts's.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { ContainerStartError } from "./errors.ts";

/** Runs a host tool (mount, umount, npm) with its arguments as given; resolves stdout, rejects with stderr. */
export function run(command: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"], timeout: opts.timeoutMs ?? 60_000, killSignal: "SIGKILL" });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new ContainerStartError(`${command} ${args.join(" ")} failed (${signal ?? code}): ${err.trim() || out.trim()}`, code));
    });
  });
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
