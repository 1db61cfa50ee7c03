/**
 * Servers an earlier run left on a data folder are found by pid and start time and stopped; a process
 * that merely got a recorded pid again is left alone. Real processes (`sleep`), no control plane needed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clusterLayout, DEFAULT_PORTS } from "../../cluster/layout.ts";
import { isRunning, processRef, readRunFile, reclaimLeftovers, writeRunFile } from "../../cluster/run-file.ts";

const dir = mkdtempSync(join(tmpdir(), "pooling-cluster-leftovers-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

function sleeper(): { child: ChildProcess; exited: Promise<unknown> } {
  const child = spawn("sleep", ["300"], { stdio: "ignore" });
  children.push(child);
  return { child, exited: new Promise((resolve) => child.once("exit", resolve)) };
}

/** A daemon that is gone: this very process's pid with a start time it never had. */
const deadDaemon = { pid: process.pid, startTime: "1" };

describe("left-over servers of an earlier run", () => {
  it("are stopped, in reverse start order, and the run file removed", async () => {
    const l = clusterLayout(join(dir, "a"));
    mkdirSync(l.dataDir, { recursive: true });
    const etcd = sleeper();
    const apiserver = sleeper();
    const refs = { etcd: processRef(etcd.child.pid!)!, "kube-apiserver": processRef(apiserver.child.pid!)! };
    writeRunFile(l, { daemon: deadDaemon, ports: DEFAULT_PORTS, services: refs });
    // What still ran at each "stopping it" line: the order the processes were stopped in.
    const said: { line: string; running: string[] }[] = [];
    await reclaimLeftovers(l, (line) => said.push({ line, running: Object.entries(refs).filter(([, r]) => isRunning(r)).map(([n]) => n) }));
    await Promise.all([etcd.exited, apiserver.exited]);
    expect(said.map((s) => s.line.split(" ")[0])).toEqual(["kube-apiserver", "etcd"]);
    expect(said[0]!.line).toMatch(new RegExp(`^kube-apiserver \\(pid ${apiserver.child.pid}\\) of an earlier run still runs on `));
    expect(said[0]!.running.sort()).toEqual(["etcd", "kube-apiserver"]);
    expect(said[1]!.running).toEqual(["etcd"]);
    expect(readRunFile(l)).toBeUndefined();
  });

  it("leave alone a process whose pid matches but whose start time does not", async () => {
    const l = clusterLayout(join(dir, "b"));
    mkdirSync(l.dataDir, { recursive: true });
    const other = sleeper();
    const ref = processRef(other.child.pid!)!;
    writeRunFile(l, { daemon: deadDaemon, ports: DEFAULT_PORTS, services: { etcd: { pid: ref.pid, startTime: `${Number(ref.startTime) - 1}` } } });
    await reclaimLeftovers(l, () => undefined);
    expect(isRunning(ref)).toBe(true);
  });
});
