/** The machine a run happened on, and which CPUs each part was allowed to use. */
import os from "node:os";
import { cpusAllowed } from "./procfs.ts";
import type { LocalStack } from "../local/stack.ts";

export interface Machine {
  cpuModel: string;
  cpus: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  versions: { postgres: string; pgbouncer: string; redis: string };
  /** Cpus_allowed_list of each part (from /proc/<pid>/status); nothing is pinned by the bench. */
  cpusAllowed: Record<string, string>;
  loadAverageAtStart: number[];
  startedAt: string;
  note: string;
}

/** `s`: the stack whose servers' CPU affinity is reported (they all run alike). */
export function describeMachine(s: LocalStack): Machine {
  const cpus = os.cpus();
  const allowed: Record<string, string> = {
    bench: cpusAllowed("self"),
    postgres: cpusAllowed(s.postgres.pid),
    pgbouncer: cpusAllowed(s.pgbouncer.pid),
    redis: cpusAllowed(s.redis.pid),
  };
  if (s.probe) allowed.probe = cpusAllowed(s.probe.pid);
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cpus: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    versions: s.versions,
    cpusAllowed: allowed,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    startedAt: new Date().toISOString(),
    note:
      "Servers, load processes and pgbench share the same CPUs (nothing is pinned), and the machine may be shared with other work: " +
      "the cpuSeconds of each point show what else was running (otherProcesses, the largest in topOtherProcesses, and kernelUnattributed).",
  };
}
