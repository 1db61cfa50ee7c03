/**
 * What a run made, on disk, so a later run can remove it when this process died without cleaning up
 * (SIGKILL, a crash, a power cut of the test runner). Each run writes `/run/pooling-pods/<runId>.json`
 * before it creates anything it lists, with its pid and the pid's start time (pids are reused).
 */
import { mkdir, open, readFile, readdir, rename, unlink, writeFile } from "node:fs/promises";
import { unlinkSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { isAlive as isProcessAlive, startTimeOf } from "../lib/proc.ts";
import { SubnetLockTimeoutError } from "./net-errors.ts";
import { isGone, run, runQuietSync } from "./net-exec.ts";

export const STATE_DIR = "/run/pooling-pods";
const LOCK_PATH = `${STATE_DIR}/subnet.lock`;
const LOCK_TIMEOUT_MS = 15_000;
const LOCK_RETRY_MS = 20;

export interface RunState {
  version: 1;
  runId: string;
  pid: number;
  /** Field 22 of /proc/<pid>/stat: tells a live owner from a new process that got the same pid. */
  pidStart: string;
  bridge: string;
  podCidr: string;
  serviceCidr: string;
  /** Network namespaces (names under /run/netns), host-side veths. */
  netns: string[];
  links: string[];
  /** The node's own Service table in the root netns (the node agent's network only). */
  nodeTable?: string;
}

/** Names this network gives its objects; a state file listing anything else is not acted on. */
export const NETNS_NAME = /^plpod-[a-z0-9]{1,6}-\d{1,3}(-[a-z0-9-]{0,30})?$/;
export const LINK_NAME = /^plpod[a-z0-9]{1,6}(v\d{1,3})?$/;
export const NODE_TABLE_NAME = /^plnode[a-z0-9]{1,6}$/;

export function statePath(runId: string): string {
  return `${STATE_DIR}/${runId}.json`;
}

/** The run's owner still runs: the same process (start time), not exited (lib/proc.ts). */
export const isAlive = (pid: number, pidStart: string): boolean => isProcessAlive({ pid, startTime: pidStart });

export async function writeState(state: RunState): Promise<void> {
  await mkdir(STATE_DIR, { recursive: true, mode: 0o700 });
  const tmp = `${statePath(state.runId)}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
  await rename(tmp, statePath(state.runId));
}

export async function removeState(runId: string): Promise<void> {
  await unlink(statePath(runId)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  });
}

export function removeStateSync(runId: string): void {
  try {
    unlinkSync(statePath(runId));
  } catch {
    // best effort at process exit
  }
}

/**
 * Choosing a subnet and putting it on a bridge is one step for concurrent runs: the next run sees the
 * bridge's route. A lock left by a dead process is taken over.
 */
export async function withSubnetLock<T>(fn: () => Promise<T>): Promise<T> {
  await mkdir(STATE_DIR, { recursive: true, mode: 0o700 });
  const me = `${process.pid} ${startTimeOf(process.pid) ?? ""}`;
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  for (;;) {
    try {
      const fh = await open(LOCK_PATH, "wx", 0o600);
      await fh.writeFile(me);
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = await readFile(LOCK_PATH, "utf8").catch(() => "");
      const [pid, start] = holder.split(" ");
      if (pid && start !== undefined && !isAlive(Number(pid), start)) await unlink(LOCK_PATH).catch(() => undefined);
      else if (Date.now() > deadline) throw new SubnetLockTimeoutError(LOCK_PATH, holder);
      else await sleep(LOCK_RETRY_MS);
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(LOCK_PATH).catch(() => undefined);
  }
}

type Log = (msg: string) => void;

/** Deletes veths (which takes the pod's eth0 along), namespaces, then the bridge; what is gone already is skipped. */
export async function removeObjects(objs: { netns: string[]; links: string[]; bridge?: string; nodeTable?: string }, log: Log): Promise<string[]> {
  const removed: string[] = [];
  const del = async (what: string, args: string[]) => {
    try {
      await run("ip", args);
      removed.push(what);
    } catch (err) {
      if (!isGone(err)) log(`could not remove ${what}: ${(err as Error).message}`);
    }
  };
  for (const link of objs.links.filter((l) => LINK_NAME.test(l))) await del(`link ${link}`, ["link", "del", "dev", link]);
  for (const ns of objs.netns.filter((n) => NETNS_NAME.test(n))) await del(`netns ${ns}`, ["netns", "del", ns]);
  if (objs.bridge && LINK_NAME.test(objs.bridge)) await del(`bridge ${objs.bridge}`, ["link", "del", "dev", objs.bridge]);
  if (objs.nodeTable && NODE_TABLE_NAME.test(objs.nodeTable)) {
    await run("nft", ["delete", "table", "ip", objs.nodeTable]).then(
      () => removed.push(`nft table ${objs.nodeTable}`),
      () => undefined, // already gone
    );
  }
  return removed;
}

export function removeObjectsSync(objs: { netns: string[]; links: string[]; bridge: string; nodeTable?: string }): void {
  for (const link of objs.links.filter((l) => LINK_NAME.test(l))) runQuietSync("ip", ["link", "del", "dev", link]);
  for (const ns of objs.netns.filter((n) => NETNS_NAME.test(n))) runQuietSync("ip", ["netns", "del", ns]);
  if (LINK_NAME.test(objs.bridge)) runQuietSync("ip", ["link", "del", "dev", objs.bridge]);
  if (objs.nodeTable && NODE_TABLE_NAME.test(objs.nodeTable)) runQuietSync("nft", ["delete", "table", "ip", objs.nodeTable]);
}

/** Removes what runs whose process is gone left behind; returns their run ids. */
export async function sweepStaleRuns(log: Log): Promise<string[]> {
  const files = await readdir(STATE_DIR).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [] as string[];
    throw err;
  });
  const swept: string[] = [];
  for (const file of files.filter((f) => f.endsWith(".json")).sort()) {
    let state: RunState;
    try {
      state = JSON.parse(await readFile(`${STATE_DIR}/${file}`, "utf8")) as RunState;
    } catch (err) {
      log(`pod network: ignoring unreadable state file ${STATE_DIR}/${file}: ${(err as Error).message}`);
      continue;
    }
    if (state.version !== 1 || `${state.runId}.json` !== file || isAlive(state.pid, state.pidStart)) continue;
    const removed = await removeObjects(state, log);
    log(`pod network: run ${state.runId} (pid ${state.pid} is gone): removed ${removed.length > 0 ? removed.join(", ") : "nothing (already gone)"}`);
    await removeState(state.runId);
    swept.push(state.runId);
  }
  return swept;
}
