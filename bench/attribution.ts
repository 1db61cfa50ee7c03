/**
 * Who used the machine's busy time that the named parts (PostgreSQL, PgBouncer, Redis, the probe, the
 * load) do not account for: the bench's own process, the kernel's softirq threads, every other process,
 * and what no process was charged with. Pure functions over two process tables (procfs.ts).
 *
 * Why a remainder is left to the kernel: this kernel accounts by tick (CONFIG_TICK_CPU_ACCOUNTING=y,
 * CONFIG_IRQ_TIME_ACCOUNTING not set). In Linux's kernel/sched/cputime.c, account_process_tick charges
 * each tick to the task running on the CPU (`p`): a user tick to account_user_time, otherwise
 * account_system_time, which picks CPUTIME_IRQ or CPUTIME_SOFTIRQ for /proc/stat when the tick lands in
 * an interrupt but still adds the time to p->stime. So softirq work (network receive on loopback, for
 * one) is charged to whichever process it interrupted; when the CPU was idle, `p` is the idle task
 * (pid 0), which /proc does not list, and that time is busy in /proc/stat but nobody's in /proc/<pid>.
 * Work of processes that exited during the point, other than the named parts (which count it), also
 * lands in the remainder. /proc/<pid>/stat scales utime and stime to the scheduler's runtime
 * (cputime_adjust), while /proc/stat counts ticks: the remainder carries that sampling noise as well.
 */
import type { ProcessTable } from "./procfs.ts";
import { CLOCK_TICKS_PER_SECOND } from "./procfs.ts";

/** The most CPU-hungry processes outside the named parts, by command name. */
export interface ProcessUse {
  comm: string;
  /** How many processes of that name used CPU over the point. */
  processes: number;
  cpuSeconds: number;
}

export interface OtherCpu {
  /** The bench's own process (its children are the load, counted as such). */
  bench: number;
  /** The kernel's ksoftirqd/N threads: softirq work deferred out of interrupted tasks. */
  softirqThreads: number;
  /** Every other process. */
  otherProcesses: number;
  /** The three largest of otherProcesses. */
  top: ProcessUse[];
}

const TOP = 3;

/**
 * CPU seconds by class between two tables. A process that started during the point counts from 0.
 * `named(pid, table)` says whether a pid is already counted by a named part; the bench's descendants
 * (load processes, pgbench) are the load's and are skipped too.
 */
export function classifyProcesses(before: ProcessTable, after: ProcessTable, benchPid: number, named: (pid: number) => boolean): OtherCpu {
  const parent = new Map([...after.values()].map((p) => [p.pid, p.ppid]));
  const underBench = (pid: number) => {
    for (let p = parent.get(pid), hops = 0; p !== undefined && p > 0 && hops < 64; p = parent.get(p), hops++) if (p === benchPid) return true;
    return false;
  };
  const out = { bench: 0, softirqThreads: 0, otherProcesses: 0 };
  const byComm = new Map<string, ProcessUse>();
  for (const [key, p] of after) {
    const ticks = Math.max(0, p.ticks - (before.get(key)?.ticks ?? 0));
    if (ticks === 0 || named(p.pid)) continue;
    const seconds = ticks / CLOCK_TICKS_PER_SECOND;
    if (p.pid === benchPid) out.bench += seconds;
    else if (underBench(p.pid)) continue;
    else if (/^ksoftirqd\/\d+$/.test(p.comm)) out.softirqThreads += seconds;
    else {
      out.otherProcesses += seconds;
      const u = byComm.get(p.comm) ?? { comm: p.comm, processes: 0, cpuSeconds: 0 };
      u.processes++;
      u.cpuSeconds += seconds;
      byComm.set(p.comm, u);
    }
  }
  const top = [...byComm.values()].sort((a, b) => b.cpuSeconds - a.cpuSeconds).slice(0, TOP);
  return { ...out, top };
}

/** The parts of machineBusy a point's cpuSeconds names, by key, processes and kernel threads alike. */
export const ACCOUNTED = ["postgres", "pgbouncer", "redis", "probe", "load", "bench", "softirqThreads", "otherProcesses"] as const;

/**
 * Adds kernelUnattributed: the machine's busy time that no process was charged with, at least 0. Left
 * out for a point measured before processes were classified (no otherProcesses figure).
 */
export function withUnattributed(cpu: Record<string, number>): Record<string, number> {
  if (cpu.otherProcesses === undefined || cpu.machineBusy === undefined) return cpu;
  const accounted = ACCOUNTED.reduce((a, k) => a + (cpu[k] ?? 0), 0);
  return { ...cpu, kernelUnattributed: Math.max(0, cpu.machineBusy - accounted) };
}
