/**
 * Small process helpers for the process side: run a host tool without a shell, read a process's
 * children from /proc, tell a live process from a zombie, kill a tree.
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

/** Direct children of a process (every thread's), from /proc/PID/task/TID/children; [] once it is gone. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/)) if (tid) out.push(Number(tid));
  } catch {
    // gone
  }
  return out;
}

/** True while the process exists and is not a zombie (a zombie has exited; only its parent's wait is missing). */
export function isAlive(pid: number): boolean {
  try {
    const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return state !== undefined && state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** SIGKILLs a process and every descendant, leaves first, so none is reparented and left running. */
export function killTree(pid: number): void {
  const all: number[] = [];
  const walk = (p: number) => {
    all.push(p);
    for (const c of childrenOf(p)) walk(c);
  };
  walk(pid);
  for (const p of all.reverse()) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

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
