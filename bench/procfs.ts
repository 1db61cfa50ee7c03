/** Small readers of /proc: memory, CPU time and CPU affinity of a process, and of the whole machine. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

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

/**
 * Busy and total ticks of the whole machine (all CPUs), from the first line of /proc/stat, and the
 * ticks spent in hard and soft interrupts (its 6th and 7th figures, irq and softirq).
 */
export function machineTicks(): { busy: number; total: number; irq: number } {
  const line = read("/proc/stat")?.split("\n")[0] ?? "";
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total, irq: (v[5] ?? 0) + (v[6] ?? 0) };
}

/** One process as /proc/<pid>/stat shows it: name, parent, and its own CPU (utime + stime) in ticks. */
export interface ProcessTicks {
  pid: number;
  comm: string;
  ppid: number;
  ticks: number;
}

/** Every process, keyed by pid and start time: a pid reused by a new process is another key. */
export type ProcessTable = Map<string, ProcessTicks>;

/** Parses one /proc/<pid>/stat line; undefined when it is not one. */
export function parseProcessStat(pid: number, text: string): { key: string; process: ProcessTicks } | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  // Fields from the 3rd (state) on; utime and stime are the 14th and 15th, starttime the 22nd.
  const f = text.slice(close + 2).split(" ");
  const n = (field: number) => Number(f[field - 3] ?? 0);
  return { key: `${pid}@${n(22)}`, process: { pid, comm: text.slice(open + 1, close), ppid: n(4), ticks: n(14) + n(15) } };
}

/** A snapshot of every process's CPU ticks; a process that vanishes while it is read is left out. */
export function processTable(proc = "/proc"): ProcessTable {
  const table: ProcessTable = new Map();
  for (const entry of readdirSync(proc)) {
    if (!/^\d+$/.test(entry)) continue;
    const text = read(join(proc, entry, "stat"));
    const parsed = text === undefined ? undefined : parseProcessStat(Number(entry), text);
    if (parsed) table.set(parsed.key, parsed.process);
  }
  return table;
}
