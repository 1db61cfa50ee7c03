/**
 * `pulumi up` with the real engine against the real control plane and the node agent (a data folder and
 * free ports of the test's own): every await of the Kubernetes provider satisfied (Deployments Available,
 * StatefulSets ready, Services with endpoints), the outputs printed, a second `up` a no-op; then
 * `pulumi destroy` and `cluster down` leave no object, process, network namespace or nftables table.
 * The stack file is the repository's dev stack as it is; the program gets the node's versions the way
 * `npm run up -- --cluster local` hands them over (POOLING_NODE_VERSIONS from pods/node/versions.ts), so
 * the dev stack's PgBouncer 1.24 settings are validated away for the 1.18 that runs. Then every user path:
 * a pool-size change, a PgBouncer pod deleted, a restart-only rollout of PgBouncer and a roll of
 * PostgreSQL's StatefulSet under probe load, a budget-breaking `config set`, and `pulumi refresh` after
 * the node agent is killed and restarted. Skipped, with the reason, without the toolchain or root.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppsV1Api, CoreV1Api, DiscoveryV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missingClusterBinaries } from "../../cluster/binaries.ts";
import { clusterDown, clusterKubeconfigPath, clusterUp } from "../../cluster/index.ts";
import { clusterLayout } from "../../cluster/layout.ts";
import { isRunning, readRunFile, type ProcessRef } from "../../cluster/run-file.ts";
import { freePort } from "../../local/system.ts";
import { connectionBudget } from "../../infra/config/index.ts";
import { NODE_VERSIONS_ENV, parseNodeVersions } from "../../infra/k8s/target.ts";
import { STATE_DIR } from "../../pods/net-state.ts";
import { formatStandInVersions, standInVersions } from "../../pods/node/versions.ts";
import { waitFor } from "../cluster/helpers.ts";
import { engineMissing, engineProject, stopPulumis, type EngineProject } from "../engine/project.ts";
import { POSTGRES_METRICS_PORT } from "../../infra/k8s/manifests/postgres.ts";
import { REDIS_METRICS_PORT } from "../../infra/k8s/manifests/redis.ts";
import { devConfig, PROJECT_DIR } from "../k8s/fixtures.ts";
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
  /** The pod-network runs of this cluster's node agents (a restarted agent starts a new run); other tests' clusters run beside it. */
  const ourRuns = new Set<string>();
  const noteAgentRun = () => {
    const agent = readRunFile(clusterLayout(dataDir))?.services["node-agent"];
    for (const f of readdirSync(STATE_DIR).filter((x) => x.endsWith(".json"))) {
      const state = JSON.parse(readFileSync(join(STATE_DIR, f), "utf8")) as { runId: string; pid: number };
      if (state.pid === agent?.pid) ourRuns.add(state.runId);
    }
  };
  const ours = (name: string) => [...ourRuns].some((id) => name.includes(`-${id}-`) || name.endsWith(id));
  const times: Record<string, number> = {};
  let nodeVersions: string;
  const engineEnv = () => ({ POOLING_CLUSTER: "local", KUBECONFIG: kubeconfig, [NODE_VERSIONS_ENV]: nodeVersions });
  const configSet = async (path: string, value: string) => {
    const set = await project.pulumi(["config", "set", "--path", path, value, "--stack", "dev"]);
    expect(set.code, set.stderr).toBe(0);
  };
  /** The kinds of the resources `pulumi preview` would change. */
  const planned = async () => {
    const plan = await project.pulumi(["preview", "--json", "--stack", "dev"], engineEnv());
    expect(plan.code, plan.stderr).toBe(0);
    return (JSON.parse(plan.stdout) as { steps: Array<{ op: string; urn: string }> }).steps.filter((st) => st.op !== "same").map((st) => `${st.op} ${st.urn.split("::").at(-2)!.split("$").at(-1)}`);
  };

  const pulumi = async (name: string, ...args: string[]) => {
    const t0 = Date.now();
    const r = await project.pulumi([...args, "--stack", "dev", "--yes", "--non-interactive"], engineEnv());
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

  /** /probe in a loop from the host through the probe's Service until stopped, counting answers and keeping each acknowledged write's id. */
  const probeLoad = () => {
    const counts = { ok: 0, failed: 0 };
    const writeIds: string[] = [];
    let running = true;
    const loop = (async () => {
      const svc = (await core.listNamespacedService({ namespace: NS })).items.find((x) => x.metadata?.labels?.["app.kubernetes.io/name"] === "app-probe")!;
      const url = `http://${svc.spec!.clusterIP}:${svc.spec!.ports![0]!.port}/probe`;
      while (running) {
        const body = await fetch(url, { signal: AbortSignal.timeout(10_000) }).then((r) => (r.ok ? (r.json() as Promise<{ pg?: { writeId: string } }>) : undefined), () => undefined);
        counts[body ? "ok" : "failed"]++;
        if (body?.pg) writeIds.push(body.pg.writeId);
      }
    })();
    return { counts, writeIds, stop: async () => ((running = false), await loop) };
  };

  /** The host pid of a container of the pod labelled `app` (the agent's containerID). */
  const containerPid = async (app: string, container: string) => {
    const pod = (await core.listNamespacedPod({ namespace: NS, labelSelector: `app.kubernetes.io/name=${app}` })).items.find((p) => !p.metadata?.deletionTimestamp && p.status?.phase === "Running")!;
    return Number(pod.status!.containerStatuses!.find((c) => c.name === container)!.containerID!.replace("pooling://", ""));
  };

  /** A metric's value from an exporter's /metrics, read inside its pod's network namespace. */
  const metric = async (app: string, container: string, port: number, name: string) => {
    const pid = await containerPid(app, container);
    const text = execFileSync("nsenter", [`--net=/proc/${pid}/ns/net`, "--", "curl", "-fsS", "--max-time", "10", `http://127.0.0.1:${port}/metrics`], { encoding: "utf8" });
    return new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[1];
  };

  /** psql as the app user in PostgreSQL's pod network namespace, over TCP as PgBouncer connects; the password from its Secret. */
  const psql = async (sql: string) => {
    const pg = devConfig().postgres;
    const secret = (await core.readNamespacedSecret({ name: "postgres-secret", namespace: NS })).data!;
    const password = Buffer.from(secret["app-password"]!, "base64").toString();
    const pid = await containerPid("postgres", "postgres");
    return execFileSync("nsenter", [`--net=/proc/${pid}/ns/net`, "--", "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(pg.port), "-U", pg.user, "-d", pg.database], { input: sql, encoding: "utf8", env: { PATH: process.env.PATH, PGPASSWORD: password } }).trim();
  };

  /** Acknowledged writes (their ids, as /probe answered them) that are not in probe_writes. */
  const lostWrites = async (ids: string[]) =>
    Number(await psql(`CREATE TEMP TABLE acked (id text);\nCOPY acked FROM STDIN;\n${ids.join("\n")}\n\\.\nSELECT count(*) FROM acked a WHERE NOT EXISTS (SELECT 1 FROM probe_writes w WHERE w.id::text = a.id);\n`));

  beforeAll(async () => {
    const ports = { apiserver: await freePort(), etcdClient: await freePort(), etcdPeer: await freePort(), controllerManager: await freePort(), scheduler: await freePort() };
    await clusterUp({ projectDir: PROJECT_DIR, dataDir, ports });
    const run = readRunFile(clusterLayout(dataDir));
    if (run) seen.push(run.daemon, ...Object.values(run.services));
    kubeconfig = clusterKubeconfigPath(PROJECT_DIR, dataDir);
    noteAgentRun();
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    [core, apps, discovery] = [kc.makeApiClient(CoreV1Api), kc.makeApiClient(AppsV1Api), kc.makeApiClient(DiscoveryV1Api)];
    nodeVersions = formatStandInVersions(await standInVersions(PROJECT_DIR));
    project = engineProject();
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

  it("has the exporters connected over TLS: pg_up and redis_up are 1 from inside their pods", async () => {
    // The exporters verify the servers against the stack's CA (sslmode=verify-full, rediss:// with -tls-ca-cert-file).
    await waitFor("pg_up 1", async () => ((await metric("postgres", "postgres-exporter", POSTGRES_METRICS_PORT, "pg_up")) === "1" ? true : undefined), 60_000);
    await waitFor("redis_up 1", async () => ((await metric("redis", "redis-exporter", REDIS_METRICS_PORT, "redis_up")) === "1" ? true : undefined), 60_000);
  });

  it("finds nothing to change on a second `up`", async () => {
    const r = await pulumi("warm", "up");
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).not.toMatch(/[~+-] \d+ (updated|created|deleted)/);
  });

  it("takes a pool-size `config set` then `up` as a ConfigMap change only: same PgBouncer pids, SHOW CONFIG shows it, no probe request failed", async () => {
    const before = await pgbouncerContainers();
    await configSet("pooling:pgbouncer.defaultPoolSize", "12");
    expect(await planned()).toEqual(["update kubernetes:core/v1:ConfigMap"]);
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

  /** Resolves once the named Deployment has rolled out all its replicas at its current generation. */
  const rolledOut = (name: string) =>
    waitFor(`${name} rolled out`, async () => {
      const d = (await apps.listNamespacedDeployment({ namespace: NS })).items.find((x) => x.metadata?.name?.includes(name))!;
      const s = d.status;
      return s?.observedGeneration === d.metadata?.generation && s?.availableReplicas === d.spec?.replicas && s?.updatedReplicas === d.spec?.replicas && s?.replicas === d.spec?.replicas ? d : undefined;
    }, 180_000);

  it("replaces a PgBouncer pod deleted through the API with a new one of its ReplicaSet, under load, losing no acknowledged write", async () => {
    const [victim] = await pgbouncerContainers();
    const load = probeLoad();
    try {
      await waitFor("probe writes before the deletion", async () => (load.writeIds.length >= 20 ? true : undefined), 60_000);
      await core.deleteNamespacedPod({ name: victim!.pod, namespace: NS });
      await waitFor(`${victim!.pod} gone`, async () => core.readNamespacedPod({ name: victim!.pod, namespace: NS }).then(() => undefined, (err: { code?: number }) => (err.code === 404 ? true : undefined)), 120_000);
      const deployment = await rolledOut("pgbouncer");
      const now = await pgbouncerContainers();
      expect(now.map((c) => c.pod)).not.toContain(victim!.pod);
      expect(now.length).toBe(deployment.spec?.replicas);
      const after = load.writeIds.length;
      await waitFor("probe writes after the replacement", async () => (load.writeIds.length >= after + 20 ? true : undefined), 60_000);
    } finally {
      await load.stop();
    }
    console.log(`PgBouncer pod deleted: ${load.counts.ok} answered, ${load.counts.failed} failed, ${load.writeIds.length} writes acknowledged`);
    expect(await lostWrites(load.writeIds)).toBe(0);
  });

  it("rolls PgBouncer on a restart-only change (its memory limit) through the Deployment controller: within the connection budget at every sample, no probe request failed", async () => {
    const before = await pgbouncerContainers();
    await configSet("pooling:pgbouncer.memory", "160Mi");
    expect(await planned()).toEqual(["update kubernetes:apps/v1:Deployment"]);
    // PgBouncer rolls one old pod at a time, which drains beside the pods still serving: replicas + 1 at most.
    const { postgres, pgbouncer } = parseNodeVersions(nodeVersions);
    const budget = connectionBudget(devConfig({ postgres: { version: postgres }, pgbouncer: { version: pgbouncer, defaultPoolSize: 12, memory: "160Mi" } }));
    const samples = { pods: [] as number[], backends: [] as number[] };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: "app.kubernetes.io/name=pgbouncer" })).items;
        // A pod counts while its PgBouncer runs, terminating or not: it holds its server connections until it exits.
        samples.pods.push(pods.filter((p) => p.status?.containerStatuses?.find((c) => c.name === "pgbouncer")?.state?.running).length);
        samples.backends.push(Number(await psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend';").catch(() => "0")));
      }
    })();
    const load = probeLoad();
    try {
      const r = await pulumi("pgbouncer-roll", "up");
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      await rolledOut("pgbouncer");
    } finally {
      await load.stop();
      sampling = false;
      await sampler;
    }
    const after = await pgbouncerContainers();
    console.log(`PgBouncer roll: ${load.counts.ok} answered, ${load.counts.failed} failed; ${samples.pods.length} samples, at most ${Math.max(...samples.pods)} PgBouncer pods (budget ${budget.podsDuringRollout}) and ${Math.max(...samples.backends)} client backends (usable ${budget.usable})`);
    expect(after.map((c) => c.pod).filter((p) => before.some((b) => b.pod === p))).toEqual([]);
    expect(after.length).toBe(before.length);
    expect(Math.max(...samples.pods)).toBe(budget.podsDuringRollout);
    expect(Math.max(...samples.pods)).toBeLessThanOrEqual(budget.podsDuringRollout);
    expect(Math.max(...samples.backends)).toBeLessThanOrEqual(budget.usable);
    expect(load.counts.ok).toBeGreaterThan(0);
    expect(load.counts.failed).toBe(0);
  });

  it("rolls PostgreSQL's StatefulSet on a change that needs a restart (its memory, so shared_buffers): no acknowledged write lost", async () => {
    const pid = await containerPid("postgres", "postgres");
    await configSet("pooling:postgres.memory", "1280Mi");
    expect((await planned()).sort()).toEqual(["update kubernetes:apps/v1:StatefulSet", "update kubernetes:core/v1:ConfigMap"]);
    const load = probeLoad();
    try {
      await waitFor("probe writes before the roll", async () => (load.writeIds.length >= 20 ? true : undefined), 60_000);
      const r = await pulumi("postgres-roll", "up");
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      const after = load.writeIds.length;
      await waitFor("probe writes after the roll", async () => (load.writeIds.length >= after + 20 ? true : undefined), 120_000);
    } finally {
      await load.stop();
    }
    console.log(`PostgreSQL roll: ${load.counts.ok} answered, ${load.counts.failed} failed, ${load.writeIds.length} writes acknowledged`);
    expect(await containerPid("postgres", "postgres")).not.toBe(pid);
    expect(await psql("SHOW shared_buffers;")).toBe("320MB");
    expect(await lostWrites(load.writeIds)).toBe(0);
  });

  it("stops `up` on a budget-breaking `config set` before any resource changes, naming the key", async () => {
    const exported = async () => {
      const r = await project.pulumi(["stack", "export", "--stack", "dev"]);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { deployment: { resources: Array<{ urn: string; outputs?: unknown }> } }).deployment.resources.map((x) => JSON.stringify([x.urn, x.outputs]));
    };
    const state = await exported();
    const pids = await pgbouncerContainers();
    await configSet("pooling:pgbouncer.defaultPoolSize", "100");
    const r = await pulumi("budget-refused", "up");
    expect(r.code).not.toBe(0);
    expect(`${r.stdout}\n${r.stderr}`).toMatch(/pooling:pgbouncer\.defaultPoolSize/);
    expect(`${r.stdout}\n${r.stderr}`).not.toMatch(/updating|creating|deleting/);
    expect(await exported()).toEqual(state);
    expect(await pgbouncerContainers()).toEqual(pids);
    await configSet("pooling:pgbouncer.defaultPoolSize", "12");
  });

  it("finds no drift with `pulumi refresh` after the node agent is killed and restarted", async () => {
    const layout = clusterLayout(dataDir);
    const agent = readRunFile(layout)!.services["node-agent"]!;
    const postgresPid = await containerPid("postgres", "postgres");
    process.kill(agent.pid, "SIGKILL");
    const restarted = await waitFor("a new node agent", async () => ((r) => (r && r.pid !== agent.pid && isRunning(r) ? r : undefined))(readRunFile(layout)?.services["node-agent"]), 60_000);
    seen.push(restarted);
    await waitFor("the new agent's pod network", async () => (noteAgentRun(), ourRuns.size >= 2 ? true : undefined), 60_000);
    await waitFor("every pod Ready again, PostgreSQL in a new container", async () => {
      const pods = (await core.listNamespacedPod({ namespace: NS })).items;
      const ready = pods.every((p) => p.status?.conditions?.find((c) => c.type === "Ready")?.status === "True");
      return ready && (await containerPid("postgres", "postgres")) !== postgresPid ? true : undefined;
    }, 180_000);
    const r = await pulumi("refresh", "refresh", "--expect-no-changes");
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).not.toMatch(/[~+-] \d+ (updated|created|deleted)/);
  });

  /** The SHA-256 fingerprint of the certificate a server in `app`'s pod shows on 127.0.0.1:port (STARTTLS for PostgreSQL's protocol). */
  const servedFingerprint = async (app: string, container: string, port: number, starttls?: "postgres") => {
    const pid = await containerPid(app, container);
    const s = execFileSync("nsenter", [`--net=/proc/${pid}/ns/net`, "--", "openssl", "s_client", "-connect", `127.0.0.1:${port}`, ...(starttls ? ["-starttls", starttls] : [])], { input: "", encoding: "utf8", stdio: ["pipe", "pipe", "ignore"], timeout: 20_000 });
    return execFileSync("openssl", ["x509", "-noout", "-fingerprint", "-sha256"], { input: s, encoding: "utf8" }).trim();
  };
  const secretFingerprint = async (name: string) => {
    const cert = Buffer.from((await core.readNamespacedSecret({ name, namespace: NS })).data!["tls.crt"]!, "base64").toString();
    return execFileSync("openssl", ["x509", "-noout", "-fingerprint", "-sha256"], { input: cert, encoding: "utf8" }).trim();
  };

  it("rotates the leaves through `pulumi up` (new leaves for a new lifetime): each server serves its new leaf without a restart, no probe request failed", async () => {
    const cfg = devConfig();
    const servers = [
      { app: "postgres", container: "postgres", port: cfg.postgres.port, secret: "postgres-tls", starttls: "postgres" as const },
      { app: "pgbouncer", container: "pgbouncer", port: cfg.pgbouncer.port, secret: "pgbouncer-tls", starttls: "postgres" as const },
      { app: "redis", container: "redis", port: cfg.redis.port, secret: "redis-tls", starttls: undefined },
    ];
    const before = await Promise.all(servers.map((x) => servedFingerprint(x.app, x.container, x.port, x.starttls)));
    const pids = await Promise.all(servers.map((x) => containerPid(x.app, x.container)));
    await configSet("pooling:tls.lifetime", "60d");
    const load = probeLoad();
    try {
      const r = await pulumi("tls-rotation", "up");
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      for (const [i, x] of servers.entries()) {
        const wanted = await secretFingerprint(x.secret);
        expect(wanted, x.secret).not.toBe(before[i]);
        // The agent swaps the Secret's files in; the pod's reloader tells the server (PgBouncer polls every few seconds).
        await waitFor(`${x.app} serving its new leaf`, async () => ((await servedFingerprint(x.app, x.container, x.port, x.starttls)) === wanted ? true : undefined), 120_000);
      }
      const after = load.writeIds.length;
      await waitFor("probe writes after the rotation", async () => (load.writeIds.length >= after + 20 ? true : undefined), 60_000);
    } finally {
      await load.stop();
    }
    console.log(`TLS rotation through pulumi up: ${load.counts.ok} answered, ${load.counts.failed} failed`);
    expect(await Promise.all(servers.map((x) => containerPid(x.app, x.container)))).toEqual(pids);
    expect(load.counts.failed).toBe(0);
  });

  it("requires client certificates after `config set tls.clientCertificates true` and `up`: the probe and the exporters present the client leaf, a client without one is refused by PgBouncer, PostgreSQL and Redis", async () => {
    const cfg = devConfig();
    await configSet("pooling:tls.clientCertificates", "true");
    const r = await pulumi("client-certificates", "up");
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    await rolledOut("pgbouncer");
    await rolledOut("probe");
    const svc = (await core.listNamespacedService({ namespace: NS })).items.find((x) => x.metadata?.labels?.["app.kubernetes.io/name"] === "app-probe")!;
    const url = `http://${svc.spec!.clusterIP}:${svc.spec!.ports![0]!.port}/probe`;
    await waitFor("/probe 200 with client certificates", () => fetch(url, { signal: AbortSignal.timeout(10_000) }).then((res) => (res.status === 200 ? true : undefined), () => undefined), 180_000);
    await waitFor("pg_up 1 with client certificates", async () => ((await metric("postgres", "postgres-exporter", POSTGRES_METRICS_PORT, "pg_up")) === "1" ? true : undefined), 120_000);
    await waitFor("redis_up 1 with client certificates", async () => ((await metric("redis", "redis-exporter", REDIS_METRICS_PORT, "redis_up")) === "1" ? true : undefined), 120_000);

    // The clients' pair, as an app pod mounts it (pooling-client-tls), in files of this test's own.
    const files = mkdtempSync(join(dir, "client-tls-"));
    const data = (await core.readNamespacedSecret({ name: "pooling-client-tls", namespace: NS })).data!;
    for (const k of ["ca.crt", "tls.crt", "tls.key"]) writeFileSync(join(files, k), Buffer.from(data[k]!, "base64"), { mode: 0o600 });
    const secretValue = async (name: string, key: string) => Buffer.from((await core.readNamespacedSecret({ name, namespace: NS })).data![key]!, "base64").toString();
    const appPassword = await secretValue("postgres-secret", "app-password");
    const pair = (withCert: boolean) => (withCert ? `sslcert=${join(files, "tls.crt")} sslkey=${join(files, "tls.key")}` : `sslcert=${join(files, "none.crt")} sslkey=${join(files, "none.key")}`);
    const psqlIn = async (app: string, port: number, withCert: boolean) => {
      const pid = await containerPid(app, app);
      const conninfo = `host=127.0.0.1 port=${port} user=${cfg.postgres.user} dbname=${cfg.postgres.database} sslmode=verify-full sslrootcert=${join(files, "ca.crt")} ${pair(withCert)}`;
      return spawnSync("nsenter", [`--net=/proc/${pid}/ns/net`, "--", "psql", "-X", "-A", "-t", "-c", "SELECT 1", conninfo], { encoding: "utf8", env: { PATH: process.env.PATH, PGPASSWORD: appPassword }, timeout: 30_000 });
    };
    for (const [app, port] of [["pgbouncer", cfg.pgbouncer.port], ["postgres", cfg.postgres.port]] as const) {
      const refused = await psqlIn(app, port, false);
      expect(refused.status, `${app} without a client certificate: ${refused.stdout}${refused.stderr}`).not.toBe(0);
      expect(refused.stderr, app).toMatch(/certificate/i);
      const accepted = await psqlIn(app, port, true);
      expect(accepted.status, `${app} with the client pair: ${accepted.stderr}`).toBe(0);
      expect(accepted.stdout.trim()).toBe("1");
    }
    const redisPassword = await secretValue("redis-secret", "password");
    const redisCli = async (withCert: boolean) => {
      const pid = await containerPid("redis", "redis");
      const cert = withCert ? ["--cert", join(files, "tls.crt"), "--key", join(files, "tls.key")] : [];
      return spawnSync("nsenter", [`--net=/proc/${pid}/ns/net`, "--", "redis-cli", "-h", "127.0.0.1", "-p", String(cfg.redis.port), "--tls", "--cacert", join(files, "ca.crt"), ...cert, "--no-auth-warning", "-a", redisPassword, "PING"], { encoding: "utf8", timeout: 30_000 });
    };
    const redisRefused = await redisCli(false);
    expect(`${redisRefused.stdout}${redisRefused.stderr}`).not.toMatch(/PONG/);
    const redisAccepted = await redisCli(true);
    expect(redisAccepted.stdout.trim(), redisAccepted.stderr).toBe("PONG");
  });

  it("`destroy`, then `cluster down`, leave no object, process, network namespace or nftables table", async () => {
    const r = await pulumi("destroy", "destroy");
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    await waitFor("the namespace gone", async () => core.readNamespace({ name: NS }).then(() => undefined, (err: { code?: number }) => (err.code === 404 ? true : undefined)), 180_000);
    await waitFor("no PersistentVolume left", async () => ((await core.listPersistentVolume()).items.length === 0 ? true : undefined), 60_000);
    expect(readdirSync(join(dataDir, "node", "pods"))).toEqual([]);
    const run = readRunFile(clusterLayout(dataDir))!;
    const range = readFileSync(clusterLayout(dataDir).serviceRangeFile, "utf8").trim();
    await clusterDown({ projectDir: PROJECT_DIR, dataDir });
    expect(execFileSync("ip", ["route", "show", range], { encoding: "utf8" }).trim()).toBe("");
    expect([run.daemon, ...Object.values(run.services)].filter(isRunning)).toEqual([]);
    expect(ourRuns.size).toBeGreaterThanOrEqual(2);
    expect(netnsNames().filter(ours)).toEqual([]);
    expect(rootTables().filter(ours)).toEqual([]);
  });
});
