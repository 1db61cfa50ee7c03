/**
 * Shared by the process side's tests: a `busybox` stand-in made of this machine's /bin tools, synthetic
 * manifests written to a folder, a cluster on the test network, and waits on events with deadlines
 * (never sleeps as synchronisation).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { Cluster, type PodEvent } from "../../pods/cluster.ts";
import { DEFAULT_PATH } from "../../pods/env.ts";
import { mountsUnder } from "../../pods/proc.ts";
import { StandIns, type StandIn } from "../../pods/standins.ts";
import { TestNetwork } from "./fake-network.ts";

export const IS_ROOT = process.getuid?.() === 0;
export const ROOT_REASON = "the pod runner's tests need root (network and mount namespaces, mounts, setpriv to other uids): run npm test as root, as CI does";

/** A test that cannot run here fails with the reason instead of passing silently. */
export function requireRoot(): void {
  if (!IS_ROOT) throw new Error(ROOT_REASON);
}

/** busybox:1.36 stood in for by this machine's sh and coreutils: USER root, no ENTRYPOINT, CMD ["sh"], as the image. */
export function busybox(): StandIn {
  return {
    description: "this machine's /bin/sh and coreutils (test stand-in for busybox)",
    version: "test",
    env: { PATH: DEFAULT_PATH },
    users: [
      { name: "root", uid: 0, gid: 0, home: "/root", shell: "/bin/sh" },
      { name: "nobody", uid: 65534, gid: 65534, home: "/home", shell: "/bin/false" },
    ],
    groups: [
      { name: "root", gid: 0 },
      { name: "nogroup", gid: 65534 },
    ],
    user: { uid: 0, gid: 0 },
    workingDir: "/",
    cmd: ["sh"],
    stopSignal: "SIGTERM",
    binds: [],
    dirs: [],
    notes: [],
  };
}

export function testStandIns(): StandIns {
  return new StandIns([
    { pattern: "busybox", standIn: busybox() },
    { pattern: "example/unavailable", standIn: null, reason: "no stand-in on purpose (test)" },
  ]);
}

const made: string[] = [];

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `pods-${prefix}-`));
  made.push(dir);
  return dir;
}

/** For afterAll, after every cluster stopped: the temporary folders, with any mount a failed test left in them. */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) {
    for (const mp of mountsUnder(dir)) spawnSync("umount", ["-l", mp]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes each object as its own YAML file, as the render CLI lays them out. */
export function writeManifests(dir: string, objects: object[]): string {
  mkdirSync(dir, { recursive: true });
  objects.forEach((o, i) => writeFileSync(join(dir, `${String(i).padStart(2, "0")}.yaml`), stringify(o)));
  return dir;
}

export async function startCluster(objects: object[], opts: { backoffMs?: number } = {}): Promise<{ cluster: Cluster; network: TestNetwork; dir: string; runDir: string; lines: string[] }> {
  const dir = tempDir("cluster");
  const network = new TestNetwork();
  const lines: string[] = [];
  const cluster = await Cluster.start({
    manifestsDir: writeManifests(join(dir, "k8s"), objects),
    runDir: join(dir, "run"),
    network,
    standIns: testStandIns(),
    log: (l) => lines.push(l),
    backoff: { initialMs: opts.backoffMs ?? 500, maxMs: 2_000 },
    handleSignals: false,
  });
  return { cluster, network, dir, runDir: join(dir, "run"), lines };
}

/** The first matching event from now on, within a deadline: create it before the action that causes the event. */
export function waitEvent(cluster: Cluster, match: (e: PodEvent) => boolean, timeoutMs = 20_000, what = "an event"): Promise<PodEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cluster.off("event", on);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const on = (e: PodEvent) => {
      if (!match(e)) return;
      clearTimeout(timer);
      cluster.off("event", on);
      resolve(e);
    };
    cluster.on("event", on);
  });
}

/** Re-evaluates `probe` on every cluster event (and on a slow tick for file contents) until it yields, within a deadline. */
export async function until<T>(cluster: Cluster | undefined, what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, 100);
      function done() {
        clearTimeout(t);
        cluster?.off("event", done);
        resolve();
      }
      cluster?.on("event", done);
    });
  }
}

/** A one-container Deployment or StatefulSet of busybox, with overrides. */
export function workload(kind: "Deployment" | "StatefulSet", name: string, pod: Record<string, unknown>, spec: Record<string, unknown> = {}): object {
  const labels = { app: name };
  return {
    apiVersion: "apps/v1",
    kind,
    metadata: { name, namespace: "t" },
    spec: { replicas: 1, selector: { matchLabels: labels }, ...(kind === "StatefulSet" ? { serviceName: name } : {}), ...spec, template: { metadata: { labels }, spec: { terminationGracePeriodSeconds: 5, ...pod } } },
  };
}
