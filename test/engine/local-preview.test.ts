/**
 * `pulumi preview` with the real engine against the real kube-apiserver `npm run cluster` runs: every
 * resource of the stack planned, the Kubernetes provider's server-side dry run accepted, secrets shown as
 * secrets, and every pod template admitted by PodSecurity `restricted` (which refuses a privileged pod on
 * the same server, so the admission is really on). The cluster is the test's own: a temporary data
 * folder and free ports.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missingClusterBinaries } from "../../cluster/binaries.ts";
import { clusterDown, clusterKubeconfigPath, clusterUp } from "../../cluster/index.ts";
import { freePort } from "../../local/system.ts";
import { renderManifests } from "../../infra/k8s/manifests/index.ts";
import { devConfig, KNOWN_SECRETS, PROJECT_DIR } from "../k8s/fixtures.ts";
import { engineMissing, engineProject, stopPulumis, type EngineProject } from "./project.ts";
import { skipReason } from "../skip.ts";

const missing = skipReason("test/engine/local-preview.test.ts", engineMissing() ?? missingClusterBinaries());

interface Step {
  op: string;
  urn: string;
}

describe.skipIf(missing !== undefined)(`the real engine against the local API server${missing ? ` (skipped: ${missing})` : ""}`, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "pooling-engine-cluster-"));
  let project: EngineProject;
  let kubeconfig: string;
  let core: CoreV1Api;
  const cfg = devConfig();

  beforeAll(async () => {
    // A preview needs no node: the daemon (which inherits this environment) starts no node agent, so
    // this cluster never competes with the node tests' agents for the pod network.
    process.env.POOLING_CLUSTER_NODE_AGENT = "0";
    const ports = { apiserver: await freePort(), etcdClient: await freePort(), etcdPeer: await freePort(), controllerManager: await freePort(), scheduler: await freePort() };
    await clusterUp({ projectDir: PROJECT_DIR, dataDir, ports });
    kubeconfig = clusterKubeconfigPath(PROJECT_DIR, dataDir);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    project = engineProject();
    const init = await project.pulumi(["stack", "init", "dev", "--secrets-provider", "passphrase"]);
    expect(init.code, init.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    stopPulumis();
    project?.remove();
    await clusterDown({ projectDir: PROJECT_DIR, dataDir, purge: true });
    rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  const preview = (...args: string[]) => project.pulumi(["preview", "--stack", "dev", ...args], { POOLING_CLUSTER: "local", KUBECONFIG: kubeconfig });

  it("plans every object of the stack as a create, and nothing of Docker", async () => {
    const r = await preview("--json");
    expect(r.code, r.stderr).toBe(0);
    const steps = (JSON.parse(r.stdout) as { steps: Step[] }).steps;
    expect(steps.every((s) => s.op === "create")).toBe(true);
    const planned = steps.map((s) => s.urn.split("::").at(-2)!.split("$").at(-1)!);
    // kind's registry ConfigMap (kube-public) is kind's alone: the local target registers no registry.
    const rendered = renderManifests(cfg, KNOWN_SECRETS).filter((m) => !m.file.startsWith("kube-public/"));
    for (const m of rendered) expect(planned).toContain(`kubernetes:${apiGroup(String(m.object.apiVersion))}:${String(m.object.kind)}`);
    expect(planned.filter((t) => t.startsWith("docker:"))).toEqual([]);
  }, 600_000);

  it("shows every secret as [secret] and no generated value", async () => {
    const r = await preview("--diff", "--show-replacement-steps");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\[secret\]/);
    expect(r.stdout).not.toMatch(/postgres:\/\/app:[^@\s[]+@/);
  }, 600_000);

  it("is admitted by PodSecurity `restricted` once the namespace exists, where a privileged pod is refused", async () => {
    const ns = renderManifests(cfg, KNOWN_SECRETS).find((m) => m.object.kind === "Namespace")!.object as { metadata: { name: string; labels: Record<string, string> } };
    expect(ns.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    await core.createNamespace({ body: { metadata: { name: ns.metadata.name, labels: ns.metadata.labels } } });
    try {
      const r = await preview();
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(`${r.stdout}\n${r.stderr}`).not.toMatch(/would violate PodSecurity/);
      for (const pod of podsOfWorkloads(cfg, ns.metadata.name)) await core.createNamespacedPod({ namespace: ns.metadata.name, body: pod, dryRun: "All" });
      const privileged: V1Pod = { metadata: { name: "privileged" }, spec: { containers: [{ name: "c", image: "busybox", securityContext: { privileged: true } }] } };
      await expect(core.createNamespacedPod({ namespace: ns.metadata.name, body: privileged, dryRun: "All" })).rejects.toThrow(/HTTP-Code: 403[\s\S]*violates PodSecurity \\*"restricted:latest/);
    } finally {
      await core.deleteNamespace({ name: ns.metadata.name });
    }
  }, 600_000);
});

const apiGroup = (apiVersion: string) => (apiVersion.includes("/") ? apiVersion : `core/${apiVersion}`);

interface Workload {
  kind: string;
  metadata: { name: string };
  spec?: { template?: { metadata?: object; spec?: { volumes?: object[] } }; volumeClaimTemplates?: Array<{ metadata: { name: string } }> };
}

/**
 * A Pod for each workload's template, as its controller would create it: a StatefulSet's pod also gets
 * a volume per claim template, bound to the claim `<template>-<statefulset>-<ordinal>` (the StatefulSet
 * controller's naming, pkg/controller/statefulset/stateful_set_utils.go getPersistentVolumeClaimName).
 */
function podsOfWorkloads(cfg: ReturnType<typeof devConfig>, namespace: string): V1Pod[] {
  return renderManifests(cfg, KNOWN_SECRETS)
    .map((m) => m.object as unknown as Workload)
    .filter((m) => (m.kind === "Deployment" || m.kind === "StatefulSet") && m.spec?.template)
    .map((m) => {
      const claims = (m.spec!.volumeClaimTemplates ?? []).map((t) => ({ name: t.metadata.name, persistentVolumeClaim: { claimName: `${t.metadata.name}-${m.metadata.name}-0` } }));
      const spec = { ...m.spec!.template!.spec, volumes: [...(m.spec!.template!.spec?.volumes ?? []), ...claims] };
      return { metadata: { ...m.spec!.template!.metadata, name: `${m.metadata.name}-dry-run`, namespace }, spec } as V1Pod;
    });
}
