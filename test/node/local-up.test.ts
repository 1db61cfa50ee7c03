/**
 * `pulumi up` with the real engine against the real control plane and the node agent (a data folder and
 * free ports of the test's own): every await of the Kubernetes provider satisfied (Deployments Available,
 * StatefulSets ready, Services with endpoints), the outputs printed, a second `up` a no-op; then
 * `pulumi destroy` and `cluster down` leave no object, process, network namespace or nftables table.
 * The stack file is the dev stack with the stand-ins' versions (PgBouncer 1.18 rejects 1.24's settings),
 * as `npm run pods` renders it. Skipped, with the reason, without the toolchain or root.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppsV1Api, CoreV1Api, DiscoveryV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missingClusterBinaries } from "../../cluster/binaries.ts";
import { clusterDown, clusterKubeconfigPath, clusterUp } from "../../cluster/index.ts";
import { clusterLayout } from "../../cluster/layout.ts";
import { isRunning, readRunFile, type ProcessRef } from "../../cluster/run-file.ts";
import { freePort } from "../../local/system.ts";
import { detectStandIns } from "../../pods/standins.ts";
import { writeStackVariant } from "../../pods/stack.ts";
import { waitFor } from "../cluster/helpers.ts";
import { engineMissing, engineProject, stopPulumis, type EngineProject } from "../engine/project.ts";
import { PROJECT_DIR } from "../k8s/fixtures.ts";
import { skipReason } from "../skip.ts";

const missing = skipReason("test/node/local-up.test.ts", engineMissing() ?? missingClusterBinaries() ?? (process.getuid?.() === 0 ? undefined : "the node agent needs root"));

const NS = "pooling";
const netnsNames = () => execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).split("\n").map((l) => l.split(" ")[0]!).filter((n) => n.startsWith("plpod-"));
const rootTables = () => execFileSync("nft", ["list", "tables"], { encoding: "utf8" }).split("\n").filter((l) => /plpod|plnode/.test(l));

describe.skipIf(missing !== undefined)(`pulumi up on the local cluster with its node${missing ? ` (skipped: ${missing})` : ""}`, { timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "pooling-local-up-"));
  const dataDir = join(dir, "cluster");
  let project: EngineProject;
  let kubeconfig: string;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let discovery: DiscoveryV1Api;
  const seen: ProcessRef[] = [];
  const netnsBefore = new Set<string>();
  const tablesBefore = new Set<string>();
  const times: Record<string, number> = {};

  const pulumi = async (name: string, ...args: string[]) => {
    const t0 = Date.now();
    const r = await project.pulumi([...args, "--stack", "dev", "--yes", "--non-interactive"], { POOLING_CLUSTER: "local", KUBECONFIG: kubeconfig });
    times[name] = (Date.now() - t0) / 1000;
    console.log(`pulumi ${args[0]} (${name}): ${times[name]!.toFixed(1)} s`);
    return r;
  };

  /** Each PgBouncer pod's pgbouncer container: its host pid (the agent's containerID) and restarts. */
  const pgbouncerContainers = async () =>
    (await core.listNamespacedPod({ namespace: NS, labelSelector: "app.kubernetes.io/name=pgbouncer" })).items
      .filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase === "Running")
      .map((p) => ({ pod: p.metadata!.name!, c: p.status!.containerStatuses!.find((c) => c.name === "pgbouncer")! }))
      .map(({ pod, c }) => ({ pod, pid: Number(c.containerID!.replace("pooling://", "")), restarts: c.restartCount }))
      .sort((a, b) => a.pod.localeCompare(b.pod));

  /** SHOW CONFIG on PgBouncer's admin console, from the pod's network namespace, with the container's own PGPASSWORD. */
  const showConfig = async (pid: number, key: string) => {
    const ini = (await core.readNamespacedConfigMap({ name: "pgbouncer-config", namespace: NS })).data!["pgbouncer.ini"]!;
    const get = (k: string) => new RegExp(`^${k}\\s*=\\s*(.+)$`, "m").exec(ini)![1]!.trim();
    const env = Object.fromEntries(readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    const out = execFileSync("nsenter", [`--net=/proc/${pid}/ns/net`, "--", "psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", get("listen_port"), "-U", get("admin_users").split(",")[0]!.trim(), "-d", "pgbouncer", "-c", "SHOW CONFIG"], { encoding: "utf8", env: { PATH: process.env.PATH, PGPASSWORD: env.PGPASSWORD } });
    return out.split("\n").find((l) => l.startsWith(`${key}|`))?.split("|")[1];
  };

  /** /probe in a loop from the host through the probe's Service until stopped, counting answers. */
  const probeLoad = () => {
    const counts = { ok: 0, failed: 0 };
    let running = true;
    const loop = (async () => {
      const svc = (await core.listNamespacedService({ namespace: NS })).items.find((x) => x.metadata?.labels?.["app.kubernetes.io/name"] === "app-probe")!;
      const url = `http://${svc.spec!.clusterIP}:${svc.spec!.ports![0]!.port}/probe`;
      while (running) {
        const ok = await fetch(url, { signal: AbortSignal.timeout(10_000) }).then((r) => r.ok, () => false);
        counts[ok ? "ok" : "failed"]++;
      }
    })();
    return { counts, stop: async () => ((running = false), await loop) };
  };

  beforeAll(async () => {
    for (const n of netnsNames()) netnsBefore.add(n);
    for (const t of rootTables()) tablesBefore.add(t);
    const ports = { apiserver: await freePort(), etcdClient: await freePort(), etcdPeer: await freePort(), controllerManager: await freePort(), scheduler: await freePort() };
    await clusterUp({ projectDir: PROJECT_DIR, dataDir, ports });
    const run = readRunFile(clusterLayout(dataDir));
    if (run) seen.push(run.daemon, ...Object.values(run.services));
    kubeconfig = clusterKubeconfigPath(PROJECT_DIR, dataDir);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    [core, apps, discovery] = [kc.makeApiClient(CoreV1Api), kc.makeApiClient(AppsV1Api), kc.makeApiClient(DiscoveryV1Api)];
    const { stackVersions } = await detectStandIns({ projectDir: PROJECT_DIR, cacheDir: join(PROJECT_DIR, ".local", "pods") });
    project = engineProject({ stackFile: writeStackVariant(join(PROJECT_DIR, "Pulumi.dev.yaml"), join(dir, "stack"), stackVersions) });
    const init = await project.pulumi(["stack", "init", "dev", "--secrets-provider", "passphrase"]);
    expect(init.code, init.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    stopPulumis();
    try {
      await clusterDown({ projectDir: PROJECT_DIR, dataDir, purge: true });
    } finally {
      for (const ref of seen.filter(isRunning)) process.kill(ref.pid, "SIGKILL");
      project?.remove();
      rmSync(dir, { recursive: true, force: true });
      console.log(`wall times: ${JSON.stringify(times)}`);
    }
  }, 300_000);

  it("completes `up` with every await satisfied and prints the outputs", async () => {
    const r = await pulumi("cold", "up");
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/Outputs:/);
    expect(r.stdout).toMatch(/probeUrl\s*:/);
    expect(r.stdout).toMatch(/pooledUrl\s*: \[secret\]/);
  });

  it("leaves every Deployment Available, every StatefulSet ready, every pod Ready on the node", async () => {
    for (const d of (await apps.listNamespacedDeployment({ namespace: NS })).items) {
      expect(d.status?.conditions?.find((c) => c.type === "Available")?.status, d.metadata?.name).toBe("True");
      expect(d.status?.availableReplicas, d.metadata?.name).toBe(d.spec?.replicas);
    }
    for (const s of (await apps.listNamespacedStatefulSet({ namespace: NS })).items) expect(s.status?.readyReplicas, s.metadata?.name).toBe(s.spec?.replicas);
    const pods = (await core.listNamespacedPod({ namespace: NS })).items;
    expect(pods.length).toBeGreaterThanOrEqual(5);
    for (const p of pods) {
      expect(p.spec?.nodeName).toBe("pooling-node");
      expect(p.status?.phase, p.metadata?.name).toBe("Running");
      expect(p.status?.conditions?.find((c) => c.type === "Ready")?.status, p.metadata?.name).toBe("True");
    }
  });

  it("gives every Service ready endpoints in its EndpointSlices", async () => {
    for (const svc of (await core.listNamespacedService({ namespace: NS })).items) {
      const slices = (await discovery.listNamespacedEndpointSlice({ namespace: NS, labelSelector: `kubernetes.io/service-name=${svc.metadata!.name}` })).items;
      const ready = slices.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready);
      expect(ready.length, svc.metadata?.name).toBeGreaterThan(0);
    }
  });

  it("answers /probe from the host through the probe's Service (its clusterIP), writing through PgBouncer and Redis", async () => {
    const svc = (await core.listNamespacedService({ namespace: NS })).items.find((s) => s.metadata?.labels?.["app.kubernetes.io/name"] === "app-probe")!;
    const url = `http://${svc.spec!.clusterIP}:${svc.spec!.ports![0]!.port}/probe`;
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it("finds nothing to change on a second `up`", async () => {
    const r = await pulumi("warm", "up");
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).not.toMatch(/[~+-] \d+ (updated|created|deleted)/);
  });

  it("takes a pool-size `config set` then `up` as a ConfigMap change only: same PgBouncer pids, SHOW CONFIG shows it, no probe request failed", async () => {
    const before = await pgbouncerContainers();
    const set = await project.pulumi(["config", "set", "--path", "pooling:pgbouncer.defaultPoolSize", "12", "--stack", "dev"]);
    expect(set.code, set.stderr).toBe(0);
    const plan = await project.pulumi(["preview", "--json", "--stack", "dev"], { POOLING_CLUSTER: "local", KUBECONFIG: kubeconfig });
    expect(plan.code, plan.stderr).toBe(0);
    const changed = (JSON.parse(plan.stdout) as { steps: Array<{ op: string; urn: string }> }).steps.filter((st) => st.op !== "same").map((st) => st.urn.split("::").at(-2)!.split("$").at(-1));
    expect(changed).toEqual(["kubernetes:core/v1:ConfigMap"]);
    const load = probeLoad();
    try {
      const r = await pulumi("pool-size", "up");
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      for (const c of before) await waitFor(`default_pool_size 12 in ${c.pod}`, async () => ((await showConfig(c.pid, "default_pool_size")) === "12" ? true : undefined), 60_000);
    } finally {
      await load.stop();
    }
    console.log(`probe requests from the host during the change: ${load.counts.ok} answered, ${load.counts.failed} failed`);
    expect(await pgbouncerContainers()).toEqual(before);
    expect(load.counts.ok).toBeGreaterThan(0);
    expect(load.counts.failed).toBe(0);
  });

  it("replaces a PgBouncer pod deleted through the API with a new one of its ReplicaSet", async () => {
    const [victim] = await pgbouncerContainers();
    await core.deleteNamespacedPod({ name: victim!.pod, namespace: NS });
    await waitFor(`${victim!.pod} gone`, async () => core.readNamespacedPod({ name: victim!.pod, namespace: NS }).then(() => undefined, (err: { code?: number }) => (err.code === 404 ? true : undefined)), 120_000);
    const deployment = await waitFor("PgBouncer available again", async () => {
      const d = (await apps.listNamespacedDeployment({ namespace: NS })).items.find((x) => x.metadata?.name?.includes("pgbouncer"))!;
      return d.status?.availableReplicas === d.spec?.replicas && d.status?.updatedReplicas === d.spec?.replicas ? d : undefined;
    }, 120_000);
    const now = await pgbouncerContainers();
    expect(now.map((c) => c.pod)).not.toContain(victim!.pod);
    expect(now.length).toBe(deployment.spec?.replicas);
  });

  it("`destroy`, then `cluster down`, leave no object, process, network namespace or nftables table", async () => {
    const r = await pulumi("destroy", "destroy");
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    await waitFor("the namespace gone", async () => core.readNamespace({ name: NS }).then(() => undefined, (err: { code?: number }) => (err.code === 404 ? true : undefined)), 180_000);
    await waitFor("no PersistentVolume left", async () => ((await core.listPersistentVolume()).items.length === 0 ? true : undefined), 60_000);
    expect(readdirSync(join(dataDir, "node", "pods"))).toEqual([]);
    const run = readRunFile(clusterLayout(dataDir))!;
    await clusterDown({ projectDir: PROJECT_DIR, dataDir });
    expect([run.daemon, ...Object.values(run.services)].filter(isRunning)).toEqual([]);
    expect(netnsNames().filter((n) => !netnsBefore.has(n))).toEqual([]);
    expect(rootTables().filter((t) => !tablesBefore.has(t))).toEqual([]);
  });
});
