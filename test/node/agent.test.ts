/**
 * The node agent as the kubelet of the real control plane (`npm run cluster` on a data folder and free
 * ports of the test's own): the Node and its Lease, a pod's status from its real containers and probes,
 * a ConfigMap change swapped into the pod's volume, deletion with the grace the API server set, and bad
 * input reported as a kubelet would. Skipped, with the reason, without the toolchain or root.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoordinationV1Api, CoreV1Api, KubeConfig, type V1Container, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missingClusterBinaries } from "../../cluster/binaries.ts";
import { clusterDown, clusterKubeconfigPath, clusterUp } from "../../cluster/index.ts";
import { NODE_NAME } from "../../cluster/node-agent.ts";
import { clusterLayout } from "../../cluster/layout.ts";
import { isRunning, readRunFile } from "../../cluster/run-file.ts";
import { freePort } from "../../local/system.ts";
import { PodNetwork } from "../../pods/network.ts";
import { PROJECT_DIR } from "../k8s/fixtures.ts";
import { waitFor } from "../cluster/helpers.ts";
import { skipReason } from "../skip.ts";

const missing = skipReason("test/node/agent.test.ts", missingClusterBinaries() ?? (process.getuid?.() === 0 ? undefined : "the node agent needs root"));

const NS = "agent-test";
const netns = () => execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).split("\n").map((l) => l.split(" ")[0]!).filter(Boolean);

describe.skipIf(missing !== undefined)(`the node agent${missing ? ` (skipped: ${missing})` : ""}`, { timeout: 180_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "pooling-node-agent-"));
  let core: CoreV1Api;
  let coordination: CoordinationV1Api;

  const pod = (name: string, container: Partial<V1Container>, extra: Partial<V1Pod["spec"]> = {}): V1Pod => ({
    metadata: { name, labels: { app: name } },
    spec: { automountServiceAccountToken: false, terminationGracePeriodSeconds: 5, containers: [{ name: "main", image: "redis:7.4", ...container }], ...extra },
  });
  const read = (name: string) => core.readNamespacedPod({ name, namespace: NS });
  const condition = (p: V1Pod, type: string) => p.status?.conditions?.find((c) => c.type === type)?.status;

  beforeAll(async () => {
    const ports = { apiserver: await freePort(), etcdClient: await freePort(), etcdPeer: await freePort(), controllerManager: await freePort(), scheduler: await freePort() };
    await clusterUp({ projectDir: PROJECT_DIR, dataDir, ports });
    const kc = new KubeConfig();
    kc.loadFromFile(clusterKubeconfigPath(PROJECT_DIR, dataDir));
    core = kc.makeApiClient(CoreV1Api);
    coordination = kc.makeApiClient(CoordinationV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    await waitFor("the default ServiceAccount", () => core.readNamespacedServiceAccount({ name: "default", namespace: NS }));
  }, 240_000);

  afterAll(async () => {
    try {
      await clusterDown({ projectDir: PROJECT_DIR, dataDir, purge: true });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 240_000);

  it("registers a Ready Node with this machine's address and capacity, and renews its Lease", async () => {
    const node = await waitFor("a Ready node", async () => {
      const n = await core.readNode({ name: NODE_NAME });
      return n.status?.conditions?.find((c) => c.type === "Ready" && c.status === "True") ? n : undefined;
    });
    expect(node.status?.addresses?.find((a) => a.type === "InternalIP")?.address).toMatch(/^198\.1[89]\./);
    expect(Number(node.status?.capacity?.cpu)).toBeGreaterThan(0);
    const first = (await coordination.readNamespacedLease({ name: NODE_NAME, namespace: "kube-node-lease" })).spec?.renewTime;
    const renewed = await waitFor("a renewed lease", async () => {
      const t = (await coordination.readNamespacedLease({ name: NODE_NAME, namespace: "kube-node-lease" })).spec?.renewTime;
      return t && first && new Date(t).getTime() > new Date(first).getTime() ? t : undefined;
    }, 30_000);
    expect(renewed).toBeDefined();
    // Its Service range is routed onto its pod bridge: a virtual IP nothing translates stays on this host.
    const range = readFileSync(clusterLayout(dataDir).serviceRangeFile, "utf8").trim();
    const routes = JSON.parse(execFileSync("ip", ["-j", "route", "show", range], { encoding: "utf8" })) as Array<{ dst: string; dev: string }>;
    expect(routes).toEqual([expect.objectContaining({ dst: range, dev: expect.stringMatching(/^plpod/) })]);
    // A second node on the same range stops at once, naming the clash, and leaves nothing behind.
    await expect(PodNetwork.create({ serviceCidr: range, nodeServices: true })).rejects.toMatchObject({ code: "POOLING_POD_NET_SERVICE_RANGE_TAKEN", message: expect.stringContaining(range) });
  });

  it("runs a pod bound to it and reports Running, its IP, Ready from its readiness probe, and its container", async () => {
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: "cfg" }, data: { "value.txt": "one" } } });
    const body = pod("web", { command: ["redis-server", "--port", "6390", "--save", ""], readinessProbe: { tcpSocket: { port: 6390 }, periodSeconds: 1 }, volumeMounts: [{ name: "cfg", mountPath: "/etc/cfg" }] }, { volumes: [{ name: "cfg", configMap: { name: "cfg" } }] });
    await core.createNamespacedPod({ namespace: NS, body });
    const p = await waitFor("web Ready", async () => ((p) => (condition(p, "Ready") === "True" ? p : undefined))(await read("web")), 90_000);
    expect(p.status?.phase).toBe("Running");
    expect(p.status?.podIP).toMatch(/^198\.18\./);
    expect(condition(p, "Initialized")).toBe("True");
    expect(condition(p, "ContainersReady")).toBe("True");
    expect(p.status?.containerStatuses?.[0]).toMatchObject({ name: "main", ready: true, restartCount: 0 });
    expect(p.status?.containerStatuses?.[0]?.state?.running?.startedAt).toBeDefined();
  });

  it("swaps a changed ConfigMap into the running pod's volume, without restarting it", async () => {
    const podsDir = join(dataDir, "node", "pods");
    const dir = readdirSync(podsDir).find((d) => d.startsWith("web_"))!;
    const file = join(podsDir, dir, "volumes", "kubernetes.io~configmap", "cfg", "value.txt");
    expect(readFileSync(file, "utf8")).toBe("one");
    await core.patchNamespacedConfigMap({ name: "cfg", namespace: NS, body: [{ op: "replace", path: "/data/value.txt", value: "two" }] });
    await waitFor("the new value in the volume", async () => (readFileSync(file, "utf8") === "two" ? true : undefined), 30_000);
    expect((await read("web")).status?.containerStatuses?.[0]?.restartCount).toBe(0);
  });

  it("deletes as the kubelet does: containers stopped within the grace, then the pod removed from the API", async () => {
    const t0 = Date.now();
    await core.deleteNamespacedPod({ name: "web", namespace: NS, gracePeriodSeconds: 3 });
    await waitFor("web gone from the API", async () => read("web").then(() => undefined, (err: { code?: number }) => (err.code === 404 ? true : undefined)), 60_000);
    expect(Date.now() - t0).toBeLessThan(30_000);
    // Its folder goes with it, as the kubelet cleans up a deleted pod's directory.
    await waitFor("web's folder removed", async () => (readdirSync(join(dataDir, "node", "pods")).some((d) => d.startsWith("web_")) ? undefined : true), 10_000);
  });

  it("reports an image with no stand-in as Waiting ErrImageNeverPull", async () => {
    await core.createNamespacedPod({ namespace: NS, body: pod("nostandin", { image: "example.com/nothing-here:1" }) });
    const state = await waitFor("a waiting reason", async () => (await read("nostandin")).status?.containerStatuses?.[0]?.state?.waiting, 60_000);
    expect(state.reason).toBe("ErrImageNeverPull");
    expect(state.message).toMatch(/no stand-in/);
  });

  it("restarts a container that exits at once, with back-off, and says so", async () => {
    await core.createNamespacedPod({ namespace: NS, body: pod("crash", { command: ["sh", "-c", "exit 3"] }) });
    const s = await waitFor("CrashLoopBackOff", async () => ((s) => (s?.state?.waiting?.reason === "CrashLoopBackOff" ? s : undefined))((await read("crash")).status?.containerStatuses?.[0]), 60_000);
    expect(s.restartCount).toBeGreaterThanOrEqual(1);
    expect(s.lastState?.terminated?.exitCode).toBe(3);
    expect(condition(await read("crash"), "Ready")).toBe("False");
  });

  it("keeps a pod whose readiness probe fails Running but not Ready, and the agent keeps going", async () => {
    await core.createNamespacedPod({ namespace: NS, body: pod("unready", { command: ["redis-server", "--port", "6391", "--save", ""], readinessProbe: { tcpSocket: { port: 1 }, periodSeconds: 1 } }) });
    const p = await waitFor("unready Running", async () => ((p) => (p.status?.phase === "Running" && p.status.containerStatuses?.[0]?.state?.running ? p : undefined))(await read("unready")), 60_000);
    expect(condition(p, "Ready")).toBe("False");
    expect(p.status?.containerStatuses?.[0]?.ready).toBe(false);
    // Every bad pod above is still reported, and the node with them: the agent did not crash.
    expect((await read("crash")).status?.containerStatuses?.[0]?.restartCount).toBeGreaterThanOrEqual(1);
    expect((await core.readNode({ name: NODE_NAME })).status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
  });

  it("comes back after a SIGKILL: restarted by the daemon, the dead run's namespaces swept, its pods run again and report Ready", async () => {
    await core.createNamespacedPod({ namespace: NS, body: pod("survivor", { command: ["redis-server", "--port", "6392", "--save", ""], readinessProbe: { tcpSocket: { port: 6392 }, periodSeconds: 1 } }) });
    const before = await waitFor("survivor Ready", async () => ((p) => (condition(p, "Ready") === "True" ? p : undefined))(await read("survivor")), 60_000);
    const layout = clusterLayout(dataDir);
    const agent = readRunFile(layout)!.services["node-agent"]!;
    const oldNetns = netns().filter((n) => n.includes("survivor"));
    expect(oldNetns.length).toBe(1);
    process.kill(agent.pid, "SIGKILL");
    await waitFor("a new agent", async () => ((r) => (r && r.pid !== agent.pid && isRunning(r) ? r : undefined))(readRunFile(layout)?.services["node-agent"]), 30_000);
    const after = await waitFor("survivor Ready in a new container", async () => {
      const p = await read("survivor");
      const c = p.status?.containerStatuses?.[0];
      return condition(p, "Ready") === "True" && c?.containerID !== before.status?.containerStatuses?.[0]?.containerID ? p : undefined;
    }, 90_000);
    expect(after.status?.podIP).toMatch(/^198\.18\./);
    // Its container died with the agent and was started again: a restart, as the kubelet counts one.
    expect(after.status?.containerStatuses?.[0]?.restartCount).toBe(1);
    expect(netns().filter((n) => oldNetns.includes(n))).toEqual([]);
    // Deleted through the API, the new agent ends it and removes its folder, as for a pod it started itself.
    await core.deleteNamespacedPod({ name: "survivor", namespace: NS });
    await waitFor("survivor gone from the API", async () => read("survivor").then(() => undefined, (err: { code?: number }) => (err.code === 404 ? true : undefined)), 60_000);
    await waitFor("survivor's folder removed", async () => (readdirSync(join(dataDir, "node", "pods")).some((d) => d.startsWith("survivor_")) ? undefined : true), 10_000);
  });
});
