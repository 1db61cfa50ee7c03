/**
 * `down`: SIGTERM to the supervisor daemon, which stops the servers in reverse order (each SIGTERM, then
 * SIGKILL after its grace), then waits until the daemon and every server it ran are gone. With no daemon,
 * servers an earlier run left behind are stopped instead. `purge` also deletes the data folder. Running it
 * twice is harmless.
 */
import { existsSync, rmSync } from "node:fs";
import { resolveOptions, type ClusterOptions } from "./options.ts";
import { isRunning, readRunFile, reclaimLeftovers, removeRunFile, SERVICE_ORDER, stopProcess, waitGone, type ProcessRef } from "./run-file.ts";
import { ClusterStopError } from "./errors.ts";
import { NODE_AGENT_STOP_MS } from "./node-agent.ts";

/**
 * The daemon's own stop: the node agent's (its pods' termination graces, NODE_AGENT_STOP_MS), the other
 * servers' graces (15 s each), plus a margin, before it is SIGKILLed itself.
 */
const DAEMON_GRACE_MS = NODE_AGENT_STOP_MS + 75_000;

export interface DownResult {
  /** Whether a daemon or a left-over server was running. */
  wasRunning: boolean;
  purged: boolean;
  /** Every process that was stopped. */
  stopped: ProcessRef[];
}

export async function clusterDown(o: ClusterOptions & { purge?: boolean }): Promise<DownResult> {
  const { layout: l, log } = resolveOptions(o);
  const run = readRunFile(l);
  const servers = SERVICE_ORDER.map((name) => run?.services[name]).filter((r): r is ProcessRef => r !== undefined && isRunning(r));
  const result: DownResult = { wasRunning: false, purged: false, stopped: [] };
  if (run && isRunning(run.daemon)) {
    result.wasRunning = true;
    log(`stopping the cluster on ${l.dataDir} (supervisor pid ${run.daemon.pid})`);
    await stopProcess("the supervisor", run.daemon, DAEMON_GRACE_MS, log);
    // A SIGKILLed daemon's servers die by their parent-death signal; wait for that too.
    if (!(await waitGone(servers, 10_000))) {
      const left = servers.find(isRunning)!;
      throw new ClusterStopError(SERVICE_ORDER.find((n) => run.services[n] === left) ?? "a server", left.pid);
    }
    removeRunFile(l);
    result.stopped = [run.daemon, ...servers];
  } else if (servers.length > 0) {
    result.wasRunning = true;
    await reclaimLeftovers(l, log);
    result.stopped = servers;
  } else {
    removeRunFile(l);
  }
  log(result.wasRunning ? "stopped" : `no cluster runs on ${l.dataDir}`);
  if (o.purge && existsSync(l.dataDir)) {
    rmSync(l.dataDir, { recursive: true, force: true });
    result.purged = true;
    log(`deleted ${l.dataDir}`);
  }
  return result;
}
