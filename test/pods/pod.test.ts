/**
 * A pod's lifecycle as the kubelet runs it: probes, restarts, init containers and termination, on real
 * processes, observed through the cluster's events and the network's state.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Cluster, PodInfo } from "../../pods/cluster.ts";
import type { TestNetwork } from "./fake-network.ts";
import { requireRoot, startCluster, until, waitEvent, workload, removeTempDirs } from "./helpers.ts";

/** A PID 1 that handles TERM at once (sleep in the background, so the trap runs without waiting for it). */
const TRAPS_TERM = ["sh", "-c", "trap 'echo term >> /shared/order 2>/dev/null; exit 0' TERM; while :; do sleep 1 & wait $!; done"];
/** A PID 1 with no TERM handler: from outside its namespace, TERM does nothing to it. */
const IGNORES_TERM = ["sh", "-c", "while :; do sleep 1; done"];

describe("a pod run by the pod runner", () => {
  beforeAll(requireRoot);
  let cluster: Cluster | undefined;
  let network: TestNetwork;
  let runDir: string;

  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });
  afterAll(removeTempDirs);

  const onlyPod = (): PodInfo => {
    const p = cluster!.pods().filter((x) => !x.terminating);
    expect(p).toHaveLength(1);
    return p[0]!;
  };

  it("flips Ready with an exec readiness probe and tells the network", async () => {
    ({ cluster, network } = await startCluster([
      workload("Deployment", "ready", { containers: [{ name: "c", image: "busybox:1.36", command: TRAPS_TERM, readinessProbe: { exec: { command: ["test", "-f", "/tmp/ready"] }, periodSeconds: 1, failureThreshold: 1 } }] }),
    ]));
    await waitEvent(cluster, (e) => e.reason === "Unhealthy", 10_000, "a failed readiness probe");
    const name = onlyPod().name;
    expect(onlyPod().ready).toBe(false);
    await cluster.exec(name, "c", ["touch", "/tmp/ready"]);
    await cluster.waitReady(10_000);
    expect(network.pods.get(name)).toMatchObject({ ready: true, terminating: false });
    // Listen before acting: on a loaded machine the exec can return after the probe has already reacted.
    const notReady = waitEvent(cluster, (e) => e.reason === "NotReady", 30_000, "NotReady");
    await cluster.exec(name, "c", ["rm", "/tmp/ready"]);
    await notReady;
    await until(cluster, "the network to hear NotReady", 5_000, () => network.pods.get(name)?.ready === false);
  });

  it("restarts a container whose liveness probe fails and counts the restart", async () => {
    ({ cluster } = await startCluster([
      workload("Deployment", "live", { containers: [{ name: "c", image: "busybox:1.36", command: TRAPS_TERM, livenessProbe: { exec: { command: ["test", "!", "-f", "/tmp/die"] }, periodSeconds: 1, failureThreshold: 1 } }] }),
    ]));
    await cluster.waitReady(10_000);
    const before = onlyPod();
    // Listen before acting: on a loaded machine the exec can return after the probe has already failed.
    const killed = waitEvent(cluster, (e) => e.reason === "Killing" && /failed liveness probe/.test(e.message), 30_000, "the liveness kill");
    const restarted = killed.then(() => waitEvent(cluster!, (e) => e.reason === "Started", 30_000, "the restart"));
    await cluster.exec(before.name, "c", ["touch", "/tmp/die"]);
    await killed;
    await restarted;
    const after = onlyPod();
    expect(after.name).toBe(before.name);
    expect(after.containers[0]).toMatchObject({ restarts: 1, running: true });
    expect(after.containers[0]!.pid).not.toBe(before.containers[0]!.pid);
  });

  it("holds readiness and liveness probes until the startup probe succeeds", async () => {
    const events: string[] = [];
    ({ cluster } = await startCluster([
      workload("Deployment", "startup", {
        containers: [
          {
            name: "c",
            image: "busybox:1.36",
            command: TRAPS_TERM,
            startupProbe: { exec: { command: ["test", "-f", "/tmp/started"] }, periodSeconds: 1, failureThreshold: 60 },
            readinessProbe: { exec: { command: ["true"] }, periodSeconds: 1 },
            livenessProbe: { exec: { command: ["false"] }, periodSeconds: 1, failureThreshold: 2 },
          },
        ],
      }),
    ]));
    cluster.on("event", (e) => events.push(`${e.reason}: ${e.message}`));
    await until(cluster, "two failed startup probes", 10_000, () => events.filter((e) => e.startsWith("Unhealthy: Startup")).length >= 2);
    // Gated: no readiness or liveness verdict while the startup probe fails.
    expect(events.filter((e) => /Unhealthy: (Readiness|Liveness)/.test(e))).toEqual([]);
    expect(onlyPod().ready).toBe(false);
    const ready = waitEvent(cluster, (e) => e.reason === "Ready", 30_000, "Ready once started");
    // Then liveness runs too, and its failures restart the container.
    const killed = waitEvent(cluster, (e) => e.reason === "Killing" && /failed liveness probe/.test(e.message), 30_000, "the liveness kill");
    await cluster.exec(onlyPod().name, "c", ["touch", "/tmp/started"]);
    await ready;
    await killed;
  });

  it("restarts a container that exits, with the kubelet's doubling back-off", async () => {
    ({ cluster } = await startCluster([workload("Deployment", "crash", { containers: [{ name: "c", image: "busybox:1.36", command: ["sh", "-c", "exit 3"] }] })], { backoffMs: 400 }));
    const backoffs: number[] = [];
    cluster.on("event", (e) => {
      const m = /^Back-off ([\d.]+)s/.exec(e.message);
      if (e.reason === "BackOff") backoffs.push(Number(m?.[1] ?? NaN));
    });
    await waitEvent(cluster, (e) => e.reason === "Restarting", 10_000, "the first restart, at once");
    await until(cluster, "two back-offs", 15_000, () => backoffs.length >= 2);
    const c = onlyPod().containers[0]!;
    expect(backoffs[1]).toBeGreaterThan(backoffs[0]!);
    expect(c.restarts).toBeGreaterThanOrEqual(3);
    expect(c.exitCode).toBe(3);
    expect(onlyPod().ready).toBe(false);
  });

  it("runs init containers to an exit 0 first, retrying a failure with back-off", async () => {
    const init = ["sh", "-c", "echo init >> /shared/order; test -f /shared/again || { touch /shared/again; exit 1; }"];
    ({ cluster } = await startCluster([
      workload("Deployment", "init", {
        initContainers: [{ name: "prepare", image: "busybox:1.36", command: init, volumeMounts: [{ name: "shared", mountPath: "/shared" }] }],
        containers: [{ name: "c", image: "busybox:1.36", command: TRAPS_TERM, volumeMounts: [{ name: "shared", mountPath: "/shared" }] }],
        volumes: [{ name: "shared", emptyDir: {} }],
      }),
    ]));
    await cluster.waitReady(15_000);
    const pod = onlyPod();
    expect(pod.containers.find((c) => c.name === "prepare")).toMatchObject({ init: true, restarts: 1, exitCode: 0 });
    expect((await cluster.exec(pod.name, "c", ["cat", "/shared/order"])).stdout).toBe("init\ninit\n");
  });

  it("reaches the pod's address with tcpSocket and httpGet probes from the node, named ports resolved", async () => {
    const server = ["python3", "-m", "http.server", "--bind", "0.0.0.0", "8080"];
    ({ cluster, network } = await startCluster([
      workload("Deployment", "web", {
        containers: [
          { name: "c", image: "busybox:1.36", command: server, workingDir: "/tmp", ports: [{ name: "http", containerPort: 8080 }], readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 1 }, livenessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } },
        ],
      }),
    ]));
    await cluster.waitReady(15_000);
    const pod = onlyPod();
    expect(pod.ip).toMatch(/^100\.64\./);
    expect(pod.containers[0]).toMatchObject({ ready: true, restarts: 0 });
  });

  it("terminates as the kubelet does: preStop, then SIGTERM; a TERM handler exits at once, no handler is SIGKILLed at the grace", async () => {
    const hooked = { exec: { command: ["sh", "-c", "echo prestop >> /shared/order; sleep 0.5"] } };
    ({ cluster, runDir } = await startCluster([
      workload(
        "StatefulSet",
        "term",
        {
          terminationGracePeriodSeconds: 2,
          containers: [
            { name: "traps", image: "busybox:1.36", command: TRAPS_TERM, lifecycle: { preStop: hooked }, volumeMounts: [{ name: "shared", mountPath: "/shared" }] },
            { name: "ignores", image: "busybox:1.36", command: IGNORES_TERM },
          ],
        },
        { volumeClaimTemplates: [{ metadata: { name: "shared" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Mi" } } } }] },
      ),
    ]));
    await cluster.waitReady(15_000);
    const gone = await cluster.deletePod("term-0");
    const traps = gone.containers.find((c) => c.name === "traps")!;
    const ignores = gone.containers.find((c) => c.name === "ignores")!;
    expect(traps).toMatchObject({ killed: false, exitCode: 0 });
    expect(traps.exitSeconds).toBeLessThan(1.5);
    expect(ignores).toMatchObject({ killed: true, exitCode: 137, signal: "SIGKILL" });
    expect(ignores.exitSeconds).toBeGreaterThanOrEqual(2);
    expect(ignores.exitSeconds).toBeLessThan(3);
    expect(gone.terminationSeconds).toBeLessThan(3);
    expect(readFileSync(join(runDir, "state", "pvc", "shared-term-0", "order"), "utf8")).toBe("prestop\nterm\n");
  });

  it("gives SIGTERM two more seconds when the preStop hook used the whole grace period", async () => {
    ({ cluster } = await startCluster([
      workload("Deployment", "slow", { terminationGracePeriodSeconds: 2, containers: [{ name: "c", image: "busybox:1.36", command: IGNORES_TERM, lifecycle: { preStop: { exec: { command: ["sleep", "30"] } } } }] }),
    ]));
    await cluster.waitReady(10_000);
    const gone = await cluster.deletePod(onlyPod().name);
    const c = gone.containers[0]!;
    expect(c.killed).toBe(true);
    expect(c.exitSeconds).toBeGreaterThanOrEqual(4);
    expect(c.exitSeconds).toBeLessThan(5);
  });
});
