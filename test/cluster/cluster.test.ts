/**
 * `npm run cluster -- up | status | down` with the real etcd and kube-apiserver (and the controller
 * manager and scheduler when built), on a data folder and free ports of the test's own, so a cluster the
 * user runs is never touched. Skipped, with the reason, when the toolchain has not built them.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findClusterBinaries, missingClusterBinaries } from "../../cluster/binaries.ts";
import { clusterDown, clusterPorts, ensureClusterUp, PORT_ENV, type ClusterPorts } from "../../cluster/index.ts";
import { clusterLayout, type ClusterLayout } from "../../cluster/layout.ts";
import { isRunning, readRunFile, waitGone, type ClusterRunFile, type ProcessRef } from "../../cluster/run-file.ts";
import { freePort } from "../../local/system.ts";
import { PROJECT_DIR } from "../../local/run-state.ts";
import { skipReason } from "../skip.ts";
import { listeningSockets, waitFor } from "./helpers.ts";

// The toolchain builds all four programs: one missing is a reason like the others, not a partial run.
const partial = (b: ReturnType<typeof findClusterBinaries>) => (b.controllerManager && b.scheduler ? undefined : "kube-controller-manager or kube-scheduler is not built");
const missing = skipReason("test/cluster/cluster.test.ts", missingClusterBinaries() ?? partial(findClusterBinaries()));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe.skipIf(missing !== undefined)(`the local control plane${missing === undefined ? "" : ` (skipped: ${missing})`}`, { timeout: 240_000 }, () => {
  // Made in beforeAll: a skipped suite still runs this body to collect its tests.
  let dir: string;
  let dataDir: string;
  let layout: ClusterLayout;
  let env: NodeJS.ProcessEnv;
  /** Every process of ours a test learned of: killed in afterAll if still running, whatever failed. */
  const seen: ProcessRef[] = [];
  const remember = (run: ClusterRunFile | undefined) => {
    if (run) seen.push(run.daemon, ...Object.values(run.services));
  };

  const npm = (...args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      const child = spawn("npm", ["run", "--silent", "cluster", "--", ...args, "--data-dir", dataDir], { cwd: PROJECT_DIR, env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.once("exit", (code) => resolve({ code, stdout, stderr }));
    });

  const kubeClient = () => {
    const kc = new KubeConfig();
    kc.loadFromFile(layout.kubeconfig);
    return { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
  };

  /** The namespace's `default` ServiceAccount, which the ServiceAccount admission plugin wants before any pod. */
  const defaultServiceAccount = async (namespace: string) => {
    const { core } = kubeClient();
    await waitFor(`the default ServiceAccount in ${namespace}`, () => core.readNamespacedServiceAccount({ name: "default", namespace }));
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pooling-cluster-"));
    dataDir = join(dir, "cluster");
    layout = clusterLayout(dataDir);
    const ports = new Set<number>();
    while (ports.size < 5) ports.add(await freePort());
    const [apiserver, etcdClient, etcdPeer, controllerManager, scheduler] = [...ports] as [number, number, number, number, number];
    const chosen: ClusterPorts = { apiserver, etcdClient, etcdPeer, controllerManager, scheduler };
    // This suite's scheduler test wants a cluster without a node (test/node/ has the node agent's).
    env = { ...process.env, POOLING_CLUSTER_NODE_AGENT: "0" };
    for (const key of Object.keys(chosen) as (keyof ClusterPorts)[]) env[PORT_ENV[key]] = String(chosen[key]);
  });

  afterAll(async () => {
    try {
      await clusterDown({ projectDir: PROJECT_DIR, dataDir, purge: true });
    } finally {
      remember(readRunFile(layout));
      for (const ref of seen.filter(isRunning)) process.kill(ref.pid, "SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("starts with `up`, which returns once /readyz answers and prints the kubeconfig path and the time it took", async () => {
    const up = await npm("up");
    remember(readRunFile(layout));
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/The cluster is ready: \d+\.\d+s from `up` to \/readyz\./);
    expect(up.stdout).toContain(`kubeconfig:  ${layout.kubeconfig}`);
    expect(up.stderr).toMatch(/kube-apiserver is ready \(pid \d+/);
  });

  it("says so when `up` finds it running, and exits 0", async () => {
    const again = await npm("up");
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/the cluster already runs on .* \(supervisor pid \d+/);
    expect(again.stdout).toMatch(/The cluster was already running/);
  });

  it("`status` says ready with the version, exit 0", async () => {
    const status = await npm("status");
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^ready: Kubernetes v1\.\d+\.\d+\S* at https:\/\/127\.0\.0\.1:\d+ /);
  });

  it("keeps keys, certificates and kubeconfigs mode 0600 and etcd's data 0700", () => {
    expect(statSync(layout.kubeconfig).mode & 0o777).toBe(0o600);
    expect(statSync(layout.etcdDir).mode & 0o777).toBe(0o700);
    expect(statSync(layout.pkiDir).mode & 0o777).toBe(0o700);
    for (const f of [layout.controllerManagerKubeconfig, layout.schedulerKubeconfig, join(layout.pkiDir, "ca.key"), join(layout.pkiDir, "sa.key")]) {
      expect([f, statSync(f).mode & 0o777]).toEqual([f, 0o600]);
    }
  });

  it("listens on 127.0.0.1 only", () => {
    const run = readRunFile(layout)!;
    const sockets = listeningSockets(Object.values(run.services).map((r) => r.pid));
    expect(sockets.length).toBeGreaterThanOrEqual(3);
    expect(sockets.filter((s) => s.address !== "127.0.0.1")).toEqual([]);
  });

  it("gives a kubeconfig @kubernetes/client-node lists namespaces with", async () => {
    const { core } = kubeClient();
    const names = (await core.listNamespace()).items.map((n) => n.metadata?.name);
    expect(names).toEqual(expect.arrayContaining(["default", "kube-system", "kube-public", "kube-node-lease"]));
  });

  it("refuses, on a server-side dry run, a Pod that violates PodSecurity `restricted` in a namespace that enforces it", async () => {
    const { core } = kubeClient();
    const namespace = "restricted";
    await core.createNamespace({ body: { metadata: { name: namespace, labels: { "pod-security.kubernetes.io/enforce": "restricted" } } } });
    await defaultServiceAccount(namespace);
    const pod = (securityContext: object): V1Pod => ({ metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "busybox:1.36", securityContext }] } });
    const refused = await core.createNamespacedPod({ namespace, dryRun: "All", body: pod({ privileged: true }) }).then(
      () => undefined,
      (err: { code?: number; body?: string }) => err,
    );
    expect(refused?.code).toBe(403);
    expect(JSON.parse(refused!.body!).message).toMatch(/violates PodSecurity "restricted:latest": privileged/);
    // The same pod, compliant, is accepted: the refusal above was PodSecurity's, not anything else's.
    const compliant = { runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } };
    expect((await core.createNamespacedPod({ namespace, dryRun: "All", body: pod(compliant) })).metadata?.name).toBe("p");
    expect((await core.listNamespacedPod({ namespace })).items).toEqual([]);
  });

  it("runs the controllers: a Deployment gets its ReplicaSet, a namespace its root CA ConfigMap", async () => {
    const { apps, core } = kubeClient();
    await core.createNamespace({ body: { metadata: { name: "apps" } } });
    await waitFor("kube-root-ca.crt in apps", () => core.readNamespacedConfigMap({ name: "kube-root-ca.crt", namespace: "apps" }));
    const labels = { app: "web" };
    await apps.createNamespacedDeployment({
      namespace: "apps",
      body: { metadata: { name: "web" }, spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: "c", image: "busybox:1.36" }] } } } },
    });
    const rs = await waitFor("the Deployment's ReplicaSet", async () => (await apps.listNamespacedReplicaSet({ namespace: "apps" })).items.find((r) => r.metadata?.ownerReferences?.[0]?.name === "web"));
    expect(rs.spec?.replicas).toBe(1);
  });

  it("runs the scheduler: with no node, a pod is marked unschedulable", async () => {
    const { core } = kubeClient();
    await core.createNamespace({ body: { metadata: { name: "sched" } } });
    await defaultServiceAccount("sched");
    await core.createNamespacedPod({ namespace: "sched", body: { metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "busybox:1.36" }] } } });
    const condition = await waitFor("PodScheduled=False", async () =>
      (await core.readNamespacedPod({ name: "p", namespace: "sched" })).status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False"),
    );
    expect(condition.reason).toBe("Unschedulable");
  });

  it("`down` stops the supervisor and every server, leaves none running, and says so again when nothing runs", async () => {
    const run = readRunFile(layout)!;
    const ours = [run.daemon, ...Object.values(run.services)];
    const down = await npm("down");
    expect(down.code, down.stderr).toBe(0);
    expect(ours.filter(isRunning)).toEqual([]);
    expect(readRunFile(layout)).toBeUndefined();
    const again = await npm("down");
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`no cluster runs on ${dataDir}`);
    const status = await npm("status");
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/^not ready: /);
  });

  it("comes back warm with the same kubeconfig, and a SIGKILLed supervisor takes etcd and the API server with it", async () => {
    const up = await npm("up");
    remember(readRunFile(layout));
    expect(up.code, up.stderr).toBe(0);
    const { core } = kubeClient();
    // The namespace made before `down` is still there: etcd's data survived.
    expect((await core.readNamespace({ name: "restricted" })).metadata?.name).toBe("restricted");
    const run = readRunFile(layout)!;
    const servers = Object.values(run.services);
    expect(servers.length).toBeGreaterThanOrEqual(2);
    process.kill(run.daemon.pid, "SIGKILL");
    expect(await waitGone(servers, 15_000)).toBe(true);
    expect(isRunning(run.daemon)).toBe(false);
    const status = await npm("status");
    expect(status.code).toBe(1);
    // And the function other code calls starts it again.
    const info = await ensureClusterUp(PROJECT_DIR, () => undefined, { dataDir, ports: clusterPorts(env) });
    remember(readRunFile(layout));
    expect(info).toMatchObject({ ready: true, alreadyRunning: false, kubeconfig: layout.kubeconfig });
  });

  it("refuses to start on a port another process holds, naming the variable that moves it", async () => {
    await clusterDown({ projectDir: PROJECT_DIR, dataDir });
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(Number(env[PORT_ENV.etcdPeer]), "127.0.0.1", resolve));
    try {
      const up = await npm("up");
      expect(up.code).toBe(1);
      expect(up.stderr).toContain(`error POOLING_CLUSTER_PORT_TAKEN: 127.0.0.1:${env[PORT_ENV.etcdPeer]} is taken by another process`);
      expect(up.stderr).toContain(PORT_ENV.etcdPeer);
      expect(up.stderr).not.toMatch(/\n\s+at /);
    } finally {
      holder.close();
    }
  });

  it("`down --purge` deletes the data folder", async () => {
    const down = await npm("down", "--purge");
    expect(down.code).toBe(0);
    expect(() => statSync(dataDir)).toThrow();
  });
});
