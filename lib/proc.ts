/**
 * Processes as /proc knows them: the one liveness check every layer uses, so a zombie counts the same
 * everywhere (it has exited; only its parent's wait(2) is missing, and it will never act again), and a
 * pid the kernel gave to another program is never taken for the process we remember.
 * Linux only, like the rest of the project's process handling. proc(5) documents the fields read here.
 * No process library fits: execa (which runs the pod runner's host tools) knows only the subprocess it
 * started and its exit, while these read any pid (one an earlier run left, a container's PID 1), count
 * a zombie as gone (kill(pid, 0) still succeeds for one), tell a reused pid by its start time, and walk
 * a tree to kill it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { becomesTrue } from "./wait.ts";

/** A process as /proc knows it: the pid plus its start time, so a reused pid is never mistaken for it. */
export interface ProcessRef {
  pid: number;
  startTime: string;
}

/**
 * The fields of /proc/PID/stat after the command, which is in parentheses and may itself hold spaces and
 * parentheses: [0] is the state (field 3), [1] the parent (field 4), [19] the start time (field 22).
 */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** The process's start time in clock ticks since boot (field 22 of /proc/PID/stat); undefined once it is gone. */
export function startTimeOf(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

export function processRef(pid: number): ProcessRef | undefined {
  const startTime = startTimeOf(pid);
  return startTime === undefined ? undefined : { pid, startTime };
}

/**
 * True while the process exists and has not exited: Z (zombie) and X (dead) count as gone. Given a
 * ProcessRef, also that it is the same process (its start time unchanged), not a reuse of its pid.
 */
export function isAlive(p: number | ProcessRef): boolean {
  const fields = statFields(typeof p === "number" ? p : p.pid);
  if (fields === undefined) return false;
  if (typeof p !== "number" && fields[19] !== p.startTime) return false;
  return fields[0] !== "Z" && fields[0] !== "X";
}

/** Direct children of `pid` (every thread's), found by their parent field; [] once it is gone. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    if (Number(statFields(Number(entry))?.[1]) === pid) out.push(Number(entry));
  }
  return out;
}

/** `pid` and every descendant, parents before their children. */
export function processTree(pid: number): number[] {
  const all: number[] = [];
  const walk = (p: number) => {
    all.push(p);
    for (const c of childrenOf(p)) walk(c);
  };
  walk(pid);
  return all;
}

/** SIGKILLs a process and every descendant, leaves first, so none is reparented and left running. */
export function killTree(pid: number): void {
  for (const p of processTree(pid).reverse()) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Resolves true once none of the processes is alive (isAlive), false when `timeoutMs` passes first. */
export function waitGone(processes: ReadonlyArray<number | ProcessRef>, timeoutMs: number): Promise<boolean> {
  return becomesTrue(() => !processes.some(isAlive), timeoutMs, 50);
}
