/**
 * Workloads on the cluster: StatefulSet claims and order, Deployment replacement and rolling update,
 * and a stop that leaves no process, mount or network namespace behind.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Cluster, PodEvent } from "../../pods/cluster.ts";
import { isAlive, mountsUnder } from "../../pods/proc.ts";
import type { PodTemplate } from "../../pods/k8s.ts";
import type { TestNetwork } from "./fake-network.ts";
import { requireRoot, startCluster, until, waitEvent, workload, removeTempDirs } from "./helpers.ts";

const SERVE = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"];
const claim = (name: string) => ({ metadata: { name }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Mi" } } } });

describe("workloads on the cluster", () => {
  beforeAll(requireRoot);
  let cluster: Cluster | undefined;
  let network: TestNetwork;
  let runDir: string;

  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });
  afterAll(removeTempDirs);

  it("keeps a StatefulSet pod's claim across deletion and re-applies fsGroup to all of it on every mount", async () => {
    // The container makes a 0700 directory, as initdb makes PGDATA; the kubelet's fsGroup walk makes it 2770 on the next mount.
    const init = "[ -d /data/pgdata ] || { mkdir /data/pgdata && chmod 700 /data/pgdata && echo kept > /data/pgdata/file; }; trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done";
    ({ cluster, runDir } = await startCluster([
      workload(
        "StatefulSet",
        "db",
        { securityContext: { fsGroup: 999, runAsUser: 999, runAsGroup: 999 }, containers: [{ name: "c", image: "busybox:1.36", command: ["sh", "-c", init], volumeMounts: [{ name: "data", mountPath: "/data" }] }] },
        { volumeClaimTemplates: [claim("data")] },
      ),
    ]));
    await cluster.waitReady(10_000);
    const dir = join(runDir, "state", "pvc", "data-db-0");
    await until(cluster, "the container to make its data directory", 10_000, () => existsSync(join(dir, "pgdata", "file")));
    // setgid inherited from the volume root by the new directory, as initdb's PGDATA gets it.
    expect((await cluster.exec("db-0", "c", ["stat", "-c", "%a %u:%g", "/data", "/data/pgdata"])).stdout).toBe("2775 0:999\n2700 999:999\n");
    const gone = await cluster.deletePod("db-0");
    expect(gone.name).toBe("db-0");
    await until(cluster, "db-0 back and Ready", 10_000, () => cluster!.pods().some((p) => p.name === "db-0" && p.ready && !p.terminating));
    expect(readFileSync(join(dir, "pgdata", "file"), "utf8")).toBe("kept\n");
    expect((await cluster.exec("db-0", "c", ["stat", "-c", "%a", "/data/pgdata", "/data/pgdata/file"])).stdout).toBe("2770\n664\n");
    expect(statSync(join(dir, "pgdata", "file")).gid).toBe(999);
  });

  it("starts StatefulSet pods in order, each after the previous is Ready", async () => {
    const events: PodEvent[] = [];
    ({ cluster } = await startCluster([workload("StatefulSet", "ord", { containers: [{ name: "c", image: "busybox:1.36", command: SERVE, readinessProbe: { exec: { command: ["true"] }, periodSeconds: 1 } }] }, { replicas: 3 })]));
    cluster.on("event", (e: PodEvent) => events.push(e));
    await cluster.waitReady(20_000);
    const at = (pod: string, reason: string) => events.find((e) => e.pod === pod && e.reason === reason)?.at ?? Infinity;
    expect(at("ord-1", "Scheduled")).toBeGreaterThanOrEqual(at("ord-0", "Ready"));
    expect(at("ord-2", "Scheduled")).toBeGreaterThanOrEqual(at("ord-1", "Ready"));
    expect(cluster.pods().map((p) => p.name).sort()).toEqual(["ord-0", "ord-1", "ord-2"]);
  });

  it("replaces a deleted Deployment pod at once under a new generated name", async () => {
    ({ cluster } = await startCluster([workload("Deployment", "web", { containers: [{ name: "c", image: "busybox:1.36", command: SERVE }] }, { replicas: 2 })]));
    await cluster.waitReady(10_000);
    const names = cluster.pods().map((p) => p.name);
    for (const n of names) expect(n).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]+-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    const replaced = waitEvent(cluster, (e) => e.reason === "Scheduled" && !names.includes(e.pod), 10_000, "the replacement pod");
    const gone = await cluster.deletePod(names[0]!);
    expect(gone).toMatchObject({ name: names[0], phase: "Terminated" });
    await replaced;
    await cluster.waitReady(10_000);
    const now = cluster.pods().map((p) => p.name);
    expect(now).toHaveLength(2);
    expect(now).toContain(names[1]);
    expect(now).not.toContain(names[0]);
  });

  it("rolls a Deployment within maxSurge 1 and maxUnavailable 0: each new pod Ready before an old one goes", async () => {
    const dep = workload("Deployment", "roll", { containers: [{ name: "c", image: "busybox:1.36", command: SERVE, readinessProbe: { exec: { command: ["true"] }, periodSeconds: 1 } }] }, { replicas: 2, strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } });
    ({ cluster } = await startCluster([dep]));
    await cluster.waitReady(10_000);
    const old = cluster.pods().map((p) => p.name);
    let minReady = Infinity;
    let maxPods = 0;
    const sample = () => {
      const live = cluster!.pods().filter((p) => !p.terminating);
      minReady = Math.min(minReady, live.filter((p) => p.ready).length);
      maxPods = Math.max(maxPods, live.length);
    };
    cluster.on("event", sample);
    const template = structuredClone((dep as { spec: { template: PodTemplate } }).spec.template);
    template.metadata = { ...template.metadata, annotations: { changed: "yes" } };
    await cluster.rollout("roll", template);
    cluster.off("event", sample);
    expect(minReady).toBe(2);
    expect(maxPods).toBe(3);
    const now = cluster.pods();
    expect(now.map((p) => p.name).filter((n) => old.includes(n))).toEqual([]);
    expect(now.every((p) => p.ready)).toBe(true);
  });

  it("stops every pod and leaves no process, mount or network namespace behind", async () => {
    ({ cluster, network, runDir } = await startCluster([
      workload("StatefulSet", "keep", { containers: [{ name: "c", image: "busybox:1.36", command: SERVE, volumeMounts: [{ name: "m", mountPath: "/m" }] }], volumes: [{ name: "m", emptyDir: { medium: "Memory" } }] }, { volumeClaimTemplates: [claim("d")] }),
      workload("Deployment", "dep", { containers: [{ name: "c", image: "busybox:1.36", command: ["sh", "-c", "while :; do sleep 1; done"] }] }, { replicas: 2 }),
    ]));
    await cluster.waitReady(10_000);
    const pids = cluster.pods().flatMap((p) => p.containers.map((c) => c.pid!));
    const netns = [...network.pods.values()].map((p) => p.netnsPath);
    expect(pids.every(isAlive)).toBe(true);
    expect(mountsUnder(runDir).length).toBeGreaterThan(0);
    await cluster.stop();
    await cluster.stop(); // idempotent
    expect(pids.filter(isAlive)).toEqual([]);
    expect(mountsUnder(runDir)).toEqual([]);
    expect(netns.filter((p) => existsSync(p))).toEqual([]);
    expect(network.destroyed).toBe(true);
    expect(cluster.history().every((p) => p.phase === "Terminated")).toBe(true);
    expect(existsSync(join(runDir, "state", "pvc", "d-keep-0"))).toBe(true);
  });
});
