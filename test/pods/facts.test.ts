/**
 * What the pod runner's checks read from the manifests (pods/checks/context.ts stackFacts): found by
 * kind and role label, never by the names the renderer gives, with Kubernetes' defaults for what a
 * manifest leaves out. No cluster is needed: the facts are read from the manifests alone.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadStackFile } from "../../infra/config/file.ts";
import { generateSecrets } from "../../infra/render/index.ts";
import { renderManifests } from "../../infra/k8s/manifests/index.ts";
import { stackFacts, type CheckContext } from "../../pods/checks/context.ts";
import type { Manifest } from "../../pods/k8s.ts";
import { byRole } from "../../pods/stack.ts";
import { PROJECT_DIR } from "../../local/stack.ts";

const cfg = loadStackFile(join(PROJECT_DIR, "Pulumi.dev.yaml"));
const secrets = generateSecrets();
const rendered = () => renderManifests(cfg, secrets).map((m) => ({ file: m.file, object: structuredClone(m.object) as unknown as Manifest }));
const ctx = (manifests: CheckContext["manifests"]): CheckContext => ({ manifests, cluster: undefined as never, rerender: () => Promise.reject(new Error("unused")), log: () => undefined, short: true });
const deploymentSpecOf = (ms: CheckContext["manifests"]) => byRole(ms, "Deployment", "pooler").spec!;

describe("stackFacts", () => {
  it("reads the budget, ports and the app role from the rendered stack", () => {
    const f = stackFacts(ctx(rendered()));
    expect(f).toMatchObject({
      maxConnections: cfg.postgres.maxConnections,
      pgbouncerReplicas: cfg.pgbouncer.replicas,
      // maxSurge 0, maxUnavailable 1: no pod surges, one drains beside the others.
      pgbouncerRolloutExtraPods: 1,
      postgres: { port: 5432, user: cfg.postgres.user, database: cfg.postgres.database, password: secrets.app.password },
    });
  });

  it("finds every object by kind and role label, whatever the renderer names it", () => {
    const renamed = rendered();
    for (const m of renamed) if (m.object.kind !== "Secret") m.object.metadata.name = `${m.object.metadata.name}-renamed`;
    expect(stackFacts(ctx(renamed))).toEqual(stackFacts(ctx(rendered())));
  });

  it("takes Kubernetes' defaults when the Deployment sets no fenceposts: maxSurge 25% rounded up, maxUnavailable 25% rounded down", () => {
    const ms = rendered();
    const spec = deploymentSpecOf(ms);
    spec.replicas = 5;
    delete spec.strategy?.rollingUpdate?.maxSurge;
    delete spec.strategy?.rollingUpdate?.maxUnavailable;
    // 2 surging (⌈1.25⌉), and 2 + 1 (⌊1.25⌋) old pods draining beside them.
    expect(stackFacts(ctx(ms)).pgbouncerRolloutExtraPods).toBe(5);
    delete spec.strategy;
    expect(stackFacts(ctx(ms)).pgbouncerRolloutExtraPods).toBe(5);
  });

  it("says which role is missing instead of reading an undefined field", () => {
    const ms = rendered().filter((m) => !(m.object.kind === "ConfigMap" && m.object.metadata.labels?.["app.kubernetes.io/component"] === "database"));
    expect(() => stackFacts(ctx(ms))).toThrow(/no ConfigMap labelled app.kubernetes.io\/component=database holding postgresql.conf/);
  });
});
