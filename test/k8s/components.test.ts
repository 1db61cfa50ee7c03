/** The components under Pulumi mocks: which resources they register, with which inputs and parents. */
import type * as pulumi from "@pulumi/pulumi";
import type * as PgBouncerModule from "../../infra/k8s/pgbouncer.ts";
import type * as SecretsModule from "../../infra/k8s/secrets.ts";
import type { StackSecrets } from "../../infra/render/index.ts";
import { beforeAll, describe, expect, it } from "vitest";
import { pgbouncerDeployment, postgresConfigMap, probeEnvLayout, probeDeployment } from "../../infra/k8s/manifests/index.ts";
import { devConfig } from "./fixtures.ts";
import { MOCK_DIGEST, byType, mockPassword, named, parentTypeOf, recorded, setRecordingMocks, settled, valueOf } from "./pulumi-mocks.ts";

type Components = { secrets: typeof SecretsModule; pgbouncer: typeof PgBouncerModule };

const cfg = devConfig();
let secrets: pulumi.Output<StackSecrets>;
let mod: Components;

beforeAll(async () => {
  await setRecordingMocks();
  // Imported only once the mocks are in place.
  mod = { secrets: await import("../../infra/k8s/secrets.ts"), pgbouncer: await import("../../infra/k8s/pgbouncer.ts") };
  const { StackNamespace } = await import("../../infra/k8s/namespace.ts");
  const { Postgres } = await import("../../infra/k8s/postgres.ts");
  const { Redis } = await import("../../infra/k8s/redis.ts");
  const { NetworkPolicies } = await import("../../infra/k8s/network-policies.ts");
  const { LocalRegistry } = await import("../../infra/k8s/registry.ts");
  const { ProbeApp } = await import("../../infra/k8s/probe.ts");
  const ns = new StackNamespace("pooling", { config: cfg });
  secrets = new mod.secrets.GeneratedSecrets("pooling").secrets;
  const postgres = new Postgres("postgres", { config: cfg, secrets, dependsOn: [ns] });
  const pgbouncer = new mod.pgbouncer.PgBouncer("pgbouncer", { config: cfg, secrets, dependsOn: [ns, postgres] });
  const redis = new Redis("redis", { config: cfg, secrets, dependsOn: [ns] });
  new NetworkPolicies("pooling", { config: cfg, dependsOn: [ns] });
  const registry = new LocalRegistry("kind-registry");
  new ProbeApp("probe", { config: cfg, secrets, registry, buildContext: "/project/app-probe", dependsOn: [ns, pgbouncer, redis] });
  await settled();
});

describe("the resource graph", () => {
  it("has every component and resource the stack needs, each child under its component", () => {
    const expected: Record<string, [type: string, parent: string]> = {
      "pooling-namespace": ["kubernetes:core/v1:Namespace", "pooling:namespace:StackNamespace"],
      "postgres-config": ["kubernetes:core/v1:ConfigMap", "pooling:postgres:Postgres"],
      "postgres-secret": ["kubernetes:core/v1:Secret", "pooling:postgres:Postgres"],
      "postgres-service": ["kubernetes:core/v1:Service", "pooling:postgres:Postgres"],
      "postgres-statefulset": ["kubernetes:apps/v1:StatefulSet", "pooling:postgres:Postgres"],
      "pgbouncer-config": ["kubernetes:core/v1:ConfigMap", "pooling:pgbouncer:PgBouncer"],
      "pgbouncer-secret": ["kubernetes:core/v1:Secret", "pooling:pgbouncer:PgBouncer"],
      "pgbouncer-service": ["kubernetes:core/v1:Service", "pooling:pgbouncer:PgBouncer"],
      "pgbouncer-deployment": ["kubernetes:apps/v1:Deployment", "pooling:pgbouncer:PgBouncer"],
      "pgbouncer-pdb": ["kubernetes:policy/v1:PodDisruptionBudget", "pooling:pgbouncer:PgBouncer"],
      "redis-config": ["kubernetes:core/v1:ConfigMap", "pooling:redis:Redis"],
      "redis-secret": ["kubernetes:core/v1:Secret", "pooling:redis:Redis"],
      "redis-service": ["kubernetes:core/v1:Service", "pooling:redis:Redis"],
      "redis-statefulset": ["kubernetes:apps/v1:StatefulSet", "pooling:redis:Redis"],
      "pooling-postgres": ["kubernetes:networking.k8s.io/v1:NetworkPolicy", "pooling:network-policies:NetworkPolicies"],
      "pooling-pgbouncer": ["kubernetes:networking.k8s.io/v1:NetworkPolicy", "pooling:network-policies:NetworkPolicies"],
      "pooling-redis": ["kubernetes:networking.k8s.io/v1:NetworkPolicy", "pooling:network-policies:NetworkPolicies"],
      "pooling-probe": ["kubernetes:networking.k8s.io/v1:NetworkPolicy", "pooling:network-policies:NetworkPolicies"],
      "kind-registry-image": ["docker:index/remoteImage:RemoteImage", "pooling:registry:LocalRegistry"],
      "kind-registry-container": ["docker:index/container:Container", "pooling:registry:LocalRegistry"],
      "kind-registry-hosting": ["kubernetes:core/v1:ConfigMap", "pooling:registry:LocalRegistry"],
      "probe-image": ["docker:index/image:Image", "pooling:probe:ProbeApp"],
      "probe-secret": ["kubernetes:core/v1:Secret", "pooling:probe:ProbeApp"],
      "probe-deployment": ["kubernetes:apps/v1:Deployment", "pooling:probe:ProbeApp"],
      "probe-service": ["kubernetes:core/v1:Service", "pooling:probe:ProbeApp"],
      "pooling-app-password": ["random:index/randomPassword:RandomPassword", "pooling:secrets:GeneratedSecrets"],
      "pooling-app-salt": ["random:index/randomBytes:RandomBytes", "pooling:secrets:GeneratedSecrets"],
      "pooling-redis-password": ["random:index/randomPassword:RandomPassword", "pooling:secrets:GeneratedSecrets"],
    };
    for (const [name, [type, parent]] of Object.entries(expected)) {
      expect(named(name).type, name).toBe(type);
      expect(parentTypeOf(name), name).toBe(parent);
    }
    expect(byType("random:index/randomPassword:RandomPassword")).toHaveLength(5);
    expect(byType("random:index/randomBytes:RandomBytes")).toHaveLength(4);
  });

  it("passes the pure builders' objects to Kubernetes unchanged", () => {
    expect(named("pgbouncer-deployment").inputs).toEqual(JSON.parse(JSON.stringify(pgbouncerDeployment(cfg))));
    expect(named("postgres-config").inputs).toEqual(postgresConfigMap(cfg));
  });

  it("deploys the probe by the pushed image's digest, after the registry exists", () => {
    expect(named("probe-deployment").inputs).toEqual(JSON.parse(JSON.stringify(probeDeployment(cfg, MOCK_DIGEST, probeEnvLayout(cfg)))));
    expect(named("probe-image").inputs).toMatchObject({
      imageName: "localhost:5001/pooling-probe:dev",
      build: { context: "/project/app-probe", dockerfile: "Dockerfile" },
      registry: { server: "localhost:5001" },
    });
    expect(named("kind-registry-container").inputs).toMatchObject({ name: "kind-registry", networksAdvanced: [{ name: "kind" }] });
  });
});

describe("secrets", () => {
  const passwords = () => byType("random:index/randomPassword:RandomPassword").map((r) => mockPassword(r.name));

  it("never reach a ConfigMap, a Deployment or a StatefulSet", () => {
    const plain = recorded.filter((r) => /ConfigMap|Deployment|StatefulSet|Service|NetworkPolicy|Namespace/.test(r.type));
    expect(plain.length).toBeGreaterThan(10);
    for (const p of passwords()) expect(JSON.stringify(plain.map((r) => r.inputs))).not.toContain(p);
  });

  it("are alphanumeric passwords with 16-byte SCRAM salts kept in state", () => {
    for (const r of byType("random:index/randomPassword:RandomPassword")) expect(r.inputs, r.name).toMatchObject({ length: 32, special: false });
    for (const r of byType("random:index/randomBytes:RandomBytes")) expect(r.inputs, r.name).toMatchObject({ length: 16 });
  });

  it("are stored in Kubernetes Secrets", () => {
    const stored = JSON.stringify(byType("kubernetes:core/v1:Secret").map((r) => r.inputs));
    for (const p of passwords()) expect(stored).toContain(p);
  });

  it("are a Pulumi secret as a whole", async () => {
    const pulumi = await import("@pulumi/pulumi");
    expect(await pulumi.isSecret(secrets)).toBe(true);
    expect((await valueOf(secrets)).app.password).toBe(mockPassword("pooling-app-password"));
  });
});

describe("PgBouncer with one replica", () => {
  it("registers no PodDisruptionBudget", async () => {
    const before = recorded.length;
    const one = devConfig({ pgbouncer: { replicas: 1 }, namespace: "single" });
    const component = new mod.pgbouncer.PgBouncer("single", { config: one, secrets });
    await valueOf(component.deployment.urn);
    await settled();
    const added = recorded.slice(before).map((r) => r.name);
    expect(added).toEqual(expect.arrayContaining(["single", "single-config", "single-secret", "single-service", "single-deployment"]));
    expect(added).not.toContain("single-pdb");
    expect(component.podDisruptionBudget).toBeUndefined();
  });
});
