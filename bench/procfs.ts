/** Small readers of /proc: memory, CPU time and CPU affinity of a process, and of the whole machine. */
import { readdirSync, readFileSync } from "node:fs";

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function statusField(pid: number | "self", field: string): string | undefined {
  const text = read(`/proc/${pid}/status`);
  return text === undefined ? undefined : new RegExp(`^${field}:\\s*(.+)$`, "m").exec(text)?.[1]?.trim();
}

/** The CPUs the process may run on, as the kernel lists them ("0-1"); "?" when unreadable. */
export function cpusAllowed(pid: number | "self" = "self"): string {
  return statusField(pid, "Cpus_allowed_list") ?? "?";
}

/** Resident memory now (VmRSS) in KiB; 0 when the process is gone. */
export function rssKb(pid: number): number {
  const kb = Number.parseInt(statusField(pid, "VmRSS") ?? "0", 10);
  return Number.isFinite(kb) ? kb : 0;
}

export const CLOCK_TICKS_PER_SECOND = 100;

interface ProcStat {
  ppid: number;
  /** utime + stime of the process itself, in clock ticks. */
  own: number;
  /** cutime + cstime: children that have exited and been waited for. */
  children: number;
}

function procStat(pid: number | "self"): ProcStat | undefined {
  const text = read(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  // The command name is in parentheses and may hold spaces; fields after it are space-separated.
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const n = (i: number) => Number(f[i] ?? 0);
  return { ppid: n(1), own: n(11) + n(12), children: n(13) + n(14) };
}

/**
 * CPU ticks used by a process tree: itself, its exited children, and its live direct children (the
 * PostgreSQL backends under the postmaster). Differences of two snapshots give the time spent between.
 */
export interface TreeSnapshot {
  root: number;
  live: Map<number, number>;
}

export function treeSnapshot(rootPid: number): TreeSnapshot {
  const root = procStat(rootPid);
  const live = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const s = procStat(Number(entry));
    if (s && s.ppid === rootPid) live.set(Number(entry), s.own);
  }
  return { root: root ? root.own + root.children : 0, live };
}

/** Seconds of CPU a tree used between two snapshots. */
export function treeCpuSeconds(a: TreeSnapshot, b: TreeSnapshot): number {
  const sum = (m: Map<number, number>) => [...m.values()].reduce((x, y) => x + y, 0);
  // A backend that exited between the snapshots moved its time into the root's children counter.
  return Math.max(0, b.root - a.root + sum(b.live) - sum(a.live)) / CLOCK_TICKS_PER_SECOND;
}

export function processCpuSeconds(pid: number): number {
  const s = procStat(pid);
  return s ? s.own / CLOCK_TICKS_PER_SECOND : 0;
}

/**
 * CPU seconds of this process's children that have exited and been waited for. Around one child's
 * whole life, with no other child exiting meanwhile, the difference is that child's CPU time.
 */
export function reapedChildrenCpuSeconds(): number {
  return (procStat("self")?.children ?? 0) / CLOCK_TICKS_PER_SECOND;
}

/** Busy and total ticks of the whole machine (all CPUs), from the first line of /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  const line = read("/proc/stat")?.split("\n")[0] ?? "";
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}
