/**
 * `up`: starts the supervisor daemon in a session of its own and returns once the API server is ready,
 * passing the daemon's progress lines on while it waits. A cluster already running on the data folder is
 * said and waited for, not started twice; servers an earlier run left behind are stopped first.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { Log } from "../local/supervisor.ts";
import { findClusterBinaries } from "./binaries.ts";
import { DAEMON_PREFIX, type DaemonConfig } from "./daemon-config.ts";
import { ClusterPortTakenError, ClusterStartError } from "./errors.ts";
import { PORT_ENV, type ClusterLayout, type ClusterPorts } from "./layout.ts";
import { resolveOptions, type ClusterOptions } from "./options.ts";
import { isRunning, liveRun, readRunFile, reclaimLeftovers, SERVICE_ORDER, stopProcess, type ClusterRunFile } from "./run-file.ts";
import { clusterReadiness, type ClusterStatus } from "./status.ts";

/** Where this code lives: the daemon runs from here, so `--import tsx` finds the project's tsx. */
const CODE_DIR = fileURLToPath(new URL("..", import.meta.url));
const DAEMON = fileURLToPath(new URL("./daemon.ts", import.meta.url));
/** A cold start on two busy cores takes tens of seconds (etcd's first fsyncs, the API server's bootstrap). */
const DEFAULT_READY_TIMEOUT_MS = 180_000;
/** With nothing new from the daemon for this long, `up` says it is still waiting. */
const QUIET_PROGRESS_MS = 5_000;

export interface ClusterInfo extends ClusterStatus {
  dataDir: string;
  kubeconfig: string;
  daemonPid: number;
  /** True when `up` found the cluster running (or starting) and only waited for it. */
  alreadyRunning: boolean;
  elapsedMs: number;
  /** Each component: "running (pid N)" or why it does not run. */
  components: Record<string, string>;
}

/** Listens on each port for a moment: one another process holds is a ClusterPortTakenError naming its variable. */
async function assertPortsFree(ports: ClusterPorts): Promise<void> {
  for (const key of Object.keys(ports) as (keyof ClusterPorts)[]) {
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once("error", () => resolve(false));
      srv.listen(ports[key], "127.0.0.1", () => srv.close(() => resolve(true)));
    });
    if (!free) throw new ClusterPortTakenError(ports[key], PORT_ENV[key]);
  }
}

const sizeOf = (file: string) => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

/** Follows logs/daemon.log from where it ends now, handing each new line to `log` without its timestamp. */
class LogFollower {
  private offset: number;
  private partial = "";
  /** The last line, and the last error line, for an error message when the daemon gives up. */
  last = "";
  lastError: string | undefined;

  constructor(
    private readonly file: string,
    private readonly log: Log,
  ) {
    this.offset = sizeOf(file);
  }

  /** Passes on what was written since the last call; true when there was a line. */
  poll(): boolean {
    const size = sizeOf(this.file);
    if (size <= this.offset) return false;
    const buf = Buffer.alloc(size - this.offset);
    const fd = openSync(this.file, "r");
    try {
      readSync(fd, buf, 0, buf.length, this.offset);
    } finally {
      closeSync(fd);
    }
    this.offset = size;
    const lines = (this.partial + buf.toString("utf8")).split("\n");
    this.partial = lines.pop() ?? "";
    let printed = false;
    for (const line of lines) {
      const at = line.indexOf(DAEMON_PREFIX);
      const text = at >= 0 ? line.slice(at + DAEMON_PREFIX.length) : line;
      if (text.trim() === "") continue;
      this.last = text;
      if (text.startsWith("error ") || text.startsWith("unexpected error")) this.lastError = text;
      this.log(text);
      printed = true;
    }
    return printed;
  }
}

/** The daemon, detached: its own session, so neither a Ctrl-C nor a closed terminal reaches it. */
function spawnDaemon(l: ClusterLayout, config: DaemonConfig): ChildProcess {
  mkdirSync(l.logDir, { recursive: true, mode: 0o700 });
  const out = openSync(l.daemonLog, "a", 0o600);
  try {
    const child = spawn(process.execPath, ["--import", "tsx", DAEMON, JSON.stringify(config)], { cwd: CODE_DIR, detached: true, stdio: ["ignore", out, out] });
    child.on("error", () => undefined); // told through 'exit' / the wait below
    return child;
  } finally {
    closeSync(out);
  }
}

function components(run: ClusterRunFile | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of SERVICE_ORDER) {
    const ref = run?.services[name];
    const failed = run?.failed?.[name];
    if (ref && isRunning(ref)) out[name] = `running (pid ${ref.pid})`;
    else if (failed !== undefined) out[name] = `not running: ${failed}`;
    else if (name === "kube-controller-manager" || name === "kube-scheduler") out[name] = "not running: not built";
    else out[name] = "not running";
  }
  return out;
}

/**
 * Polls until the daemon says every component was started and /readyz answers; passes the daemon's lines on.
 * `exited` resolves if our child daemon exits first.
 */
async function waitReady(l: ClusterLayout, follower: LogFollower, log: Log, timeoutMs: number, exited: Promise<number | null>): Promise<ClusterStatus> {
  const t0 = Date.now();
  let quietSince = Date.now();
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  for (;;) {
    if (follower.poll()) quietSince = Date.now();
    const run = readRunFile(l);
    // Exit code 0 before ready: a daemon of a simultaneous `up` got the folder first; wait for that one.
    const other = exitCode === 0 && run !== undefined && isRunning(run.daemon);
    if (!other && (exitCode !== undefined || (run !== undefined && !isRunning(run.daemon) && !run.ready))) {
      follower.poll();
      throw new ClusterStartError(`the supervisor gave up${exitCode !== undefined ? ` (exit code ${exitCode})` : ""}: ${follower.lastError ?? follower.last}`, l.logDir);
    }
    if (run?.ready) {
      const status = await clusterReadiness(l);
      if (status.ready) return status;
    }
    const waited = Date.now() - t0;
    if (waited > timeoutMs) throw new ClusterStartError(`the API server was not ready within ${timeoutMs / 1000}s: ${follower.last}`, l.logDir);
    if (Date.now() - quietSince > QUIET_PROGRESS_MS) {
      log(`still starting (${Math.round(waited / 1000)}s)`);
      quietSince = Date.now();
    }
    await sleep(100);
  }
}

/** Starts the cluster on the data folder unless it runs; resolves once the API server is ready. */
export async function clusterUp(o: ClusterOptions): Promise<ClusterInfo> {
  const t0 = Date.now();
  const { layout: l, log, binDir, ports } = resolveOptions(o);
  const timeoutMs = o.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const info = (status: ClusterStatus, daemonPid: number, alreadyRunning: boolean): ClusterInfo => ({
    ...status,
    dataDir: l.dataDir,
    kubeconfig: l.kubeconfig,
    daemonPid,
    alreadyRunning,
    elapsedMs: Date.now() - t0,
    components: components(readRunFile(l)),
  });
  const running = liveRun(l);
  if (running) {
    log(`the cluster already runs on ${l.dataDir} (supervisor pid ${running.daemon.pid}, API server https://127.0.0.1:${running.ports.apiserver})`);
    const status = await waitReady(l, new LogFollower(l.daemonLog, log), log, timeoutMs, new Promise(() => undefined));
    return info(status, running.daemon.pid, true);
  }
  findClusterBinaries(binDir); // before anything else: a missing binary is the likeliest problem
  await reclaimLeftovers(l, log);
  const chosen = ports();
  await assertPortsFree(chosen);
  const follower = new LogFollower(l.daemonLog, log);
  const child = spawnDaemon(l, { dataDir: l.dataDir, ports: chosen, binDir });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    const status = await waitReady(l, follower, log, timeoutMs, exited);
    return info(status, child.pid!, false);
  } catch (err) {
    // A daemon still starting when we give up stops what it started (its SIGTERM handler).
    if (child.exitCode === null && child.pid !== undefined) {
      const ref = readRunFile(l)?.daemon;
      if (ref) await stopProcess("the supervisor", ref, 30_000, log);
    }
    throw err;
  } finally {
    child.unref();
  }
}
