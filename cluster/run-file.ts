/**
 * Which supervisor daemon and which servers run on a data folder, kept in its run.json as pid plus start
 * time (field 22 of /proc/PID/stat): a pid the kernel gave to some other program since is never taken for
 * ours, and nothing is ever looked up or stopped by name.
 */
import { readFileSync, rmSync } from "node:fs";
import { isAlive, processRef, waitGone, type ProcessRef } from "../lib/proc.ts";
import { writeAtomic } from "../local/files.ts";
import type { Log } from "../local/supervisor.ts";
import { ClusterStopError } from "./errors.ts";
import type { ClusterLayout, ClusterPorts } from "./layout.ts";

/**
 * The servers in start order; they stop in the reverse one (the node agent first, so pods end while the
 * API server still takes their status, then the other clients of the API server, then it, then etcd).
 */
export const SERVICE_ORDER = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "node-agent"] as const;
export type ServiceName = (typeof SERVICE_ORDER)[number];

export interface ClusterRunFile {
  daemon: ProcessRef;
  ports: ClusterPorts;
  services: Partial<Record<ServiceName, ProcessRef>>;
  /** Set by the daemon once every component was started (or failed to, for the optional ones). */
  ready?: boolean;
  /** The optional components that could not start, with why. */
  failed?: Partial<Record<ServiceName, string>>;
}

export { processRef, waitGone, type ProcessRef };

/** The process is the one the ref names and has not exited (lib/proc.ts: a zombie has). */
export const isRunning = (ref: ProcessRef): boolean => isAlive(ref);

export function readRunFile(l: ClusterLayout): ClusterRunFile | undefined {
  try {
    return JSON.parse(readFileSync(l.runFile, "utf8")) as ClusterRunFile;
  } catch {
    return undefined;
  }
}

export function writeRunFile(l: ClusterLayout, run: ClusterRunFile): void {
  writeAtomic(l.runFile, `${JSON.stringify(run, null, 2)}\n`);
}

export function removeRunFile(l: ClusterLayout): void {
  rmSync(l.runFile, { force: true });
}

/** The run file when its daemon still runs; undefined when no daemon holds the folder. */
export function liveRun(l: ClusterLayout): ClusterRunFile | undefined {
  const run = readRunFile(l);
  return run && isRunning(run.daemon) ? run : undefined;
}

function signal(ref: ProcessRef, sig: NodeJS.Signals): void {
  // Checked right before: the window for the pid to be reused between the check and the kill is a few µs.
  if (!isRunning(ref)) return;
  try {
    process.kill(ref.pid, sig);
  } catch {
    // exited meanwhile
  }
}

/** SIGTERM, a grace period, then SIGKILL; resolves once the process is gone. */
export async function stopProcess(name: string, ref: ProcessRef, graceMs: number, say: Log): Promise<void> {
  signal(ref, "SIGTERM");
  // A stopped (SIGSTOP) process cannot act on SIGTERM until it is continued.
  signal(ref, "SIGCONT");
  if (await waitGone([ref], graceMs)) return;
  say(`${name} (pid ${ref.pid}) did not stop within ${graceMs / 1000}s; sending SIGKILL`);
  signal(ref, "SIGKILL");
  if (!(await waitGone([ref], 5_000))) throw new ClusterStopError(name, ref.pid);
}

/**
 * Servers an earlier daemon left on this folder (it was SIGKILLed on a machine without a parent-death
 * signal, or died between spawning a server and arming it), stopped in reverse start order. Only for a
 * folder whose daemon is gone: the caller checks that first.
 */
export async function reclaimLeftovers(l: ClusterLayout, say: Log): Promise<void> {
  const run = readRunFile(l);
  if (run === undefined) return;
  if (isRunning(run.daemon)) throw new Error(`reclaimLeftovers: the daemon (pid ${run.daemon.pid}) of ${l.dataDir} still runs`);
  for (const name of [...SERVICE_ORDER].reverse()) {
    const ref = run.services[name];
    if (ref === undefined || !isRunning(ref)) continue;
    say(`${name} (pid ${ref.pid}) of an earlier run still runs on ${l.dataDir}: stopping it`);
    await stopProcess(name, ref, 10_000, say);
  }
  removeRunFile(l);
}
