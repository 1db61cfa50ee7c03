/**
 * Servers of an earlier run on the same data folder. Each server dies with the CLI (a parent-death
 * signal), but a run can still leave one behind: a server spawned in the instant the CLI died, or one
 * started by hand. The data folder is ours, so whatever runs on it is ours to stop; a live CLI on it is
 * not, and is reported instead.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { childrenOf, isAlive, waitGone, type ProcessRef } from "../lib/proc.ts";
import { DataDirInUseError, LeftoverServerError } from "./errors.ts";
import { writeAtomic, type Layout } from "./files.ts";
import type { Log } from "./supervisor.ts";

export interface RunFile {
  cli: ProcessRef;
  services: Record<string, ProcessRef & { stopSignal: NodeJS.Signals }>;
}

export const runFileOf = (l: Layout) => join(l.dataDir, "run.json");

export function writeRunFile(l: Layout, run: RunFile): void {
  writeAtomic(runFileOf(l), `${JSON.stringify(run, null, 2)}\n`);
}

export function readRunFile(l: Layout): RunFile | undefined {
  try {
    return JSON.parse(readFileSync(runFileOf(l), "utf8")) as RunFile;
  } catch {
    return undefined;
  }
}

export function removeRunFile(l: Layout): void {
  rmSync(runFileOf(l), { force: true });
}

/** The postmaster named in PostgreSQL's own lock file, if it still runs. */
function postmasterOf(l: Layout): number | undefined {
  const file = join(l.pgData, "postmaster.pid");
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  try {
    // A reused pid belongs to some other program: only a postgres on this very folder is ours.
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(l.pgData) ? pid : undefined;
  } catch {
    return undefined; // gone meanwhile
  }
}

async function stopProcess(name: string, pid: number, signal: NodeJS.Signals, l: Layout, say: Log): Promise<void> {
  const family = [pid, ...childrenOf(pid)];
  say(`${name} (pid ${pid}) of an earlier run still runs on this data folder: stopping it`);
  try {
    process.kill(pid, signal);
    process.kill(pid, "SIGCONT");
  } catch {
    return;
  }
  if (await waitGone(family, 10_000)) return;
  for (const p of family) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
  if (!(await waitGone(family, 5_000))) throw new LeftoverServerError(name, pid, l.dataDir);
}

/**
 * Before anything touches the data folder: refuse when another live CLI runs on it, stop servers an
 * earlier run left behind. Returns once nothing of an earlier run holds the folder.
 */
export async function reclaimDataDir(l: Layout, say: Log): Promise<void> {
  const run = readRunFile(l);
  if (run && run.cli.pid !== process.pid && isAlive(run.cli)) throw new DataDirInUseError(l.dataDir, run.cli.pid);
  // Clients first, as in a normal stop.
  for (const name of ["probe", "pgbouncer", "redis", "postgres"]) {
    const svc = run?.services[name];
    if (svc && isAlive(svc)) await stopProcess(name, svc.pid, svc.stopSignal, l, say);
  }
  const postmaster = postmasterOf(l);
  if (postmaster !== undefined) await stopProcess("postgres", postmaster, "SIGINT", l, say);
  removeRunFile(l);
}
