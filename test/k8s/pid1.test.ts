/**
 * The shell scripts the manifests run as PID 1 or against PID 1, run as PID 1 of a new PID namespace
 * here: a PID 1 gets no signal it has no handler for, so only a real PID namespace shows whether the
 * kubelet's SIGTERM ends it. Needs root (unshare), as CI runs.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { HEARTBEAT_FILE, pgbouncerDeployment } from "../../infra/k8s/manifests/index.ts";
import { childrenOf } from "../../lib/proc.ts";
import { waitFor } from "../../lib/wait.ts";
import { asManifest, devConfig } from "./fixtures.ts";

const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

/** `sh -c script` as PID 1 of its own PID and mount namespace, with a private /run. */
function asPid1(script: string): ChildProcess {
  if (process.getuid?.() !== 0) throw new Error("this test needs root to make a PID namespace (unshare); CI runs as root");
  const child = spawn("unshare", ["--pid", "--mount", "--fork", "--kill-child", "sh", "-c", `mount -t tmpfs tmpfs /run && exec sh -c "$0"`, script], { stdio: ["ignore", "pipe", "pipe"] });
  started.push(child);
  return child;
}

/** The host pid of the namespace's PID 1: unshare's only child. */
function pid1Of(unshare: ChildProcess): Promise<number> {
  return waitFor("unshare to fork the namespace's PID 1", () => childrenOf(unshare.pid!)[0], 10_000, 20);
}

const exited = (c: ChildProcess) => new Promise<number | null>((resolve) => (c.exitCode !== null ? resolve(c.exitCode) : c.once("close", (code) => resolve(code))));

describe("the PgBouncer pod's reloader as PID 1", () => {
  const reloader = () => {
    const pod = asManifest(pgbouncerDeployment(devConfig())).spec!.template!.spec;
    // The loop, with the files it watches stood in for by this test's own (it needs none of PgBouncer).
    return pod.containers.find((c) => c.name === "reloader")!.command![2]!.replace(/cat \/etc\/[^|]+\|/g, "echo same |");
  };

  it("exits at once on SIGTERM instead of waiting out the grace period", async () => {
    const unshare = asPid1(reloader());
    const pid = await pid1Of(unshare);
    // The heartbeat is written after the trap is set and before the first sleep: the loop is running.
    await waitFor("the reloader's first heartbeat", () => (existsSync(`/proc/${pid}/root${HEARTBEAT_FILE}`) ? true : undefined), 10_000, 20);
    process.kill(pid, "SIGTERM");
    expect(await exited(unshare)).toBe(0);
  });
});
