/** The components under Pulumi mocks: which resources they register, with which inputs and parents. */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import type * as PgBouncerModule from "../../infra/k8s/pgbouncer.ts";
import type * as ProbeModule from "../../infra/k8s/probe.ts";
import type * as RegistryModule from "../../infra/k8s/registry.ts";
import type * as SecretsModule from "../../infra/k8s/secrets.ts";
import type * as CertificatesModule from "../../infra/k8s/certificates.ts";
import { X509Certificate } from "node:crypto";
import { renewalEpoch, type StackLeaves } from "../../infra/render/index.ts";
import type { PemPair } from "../../lib/pki.ts";
import type { StackSecrets } from "../../infra/render/index.ts";
import { beforeAll, describe, expect, it } from "vitest";
import { KIND } from "../../infra/k8s/kind.ts";
import { stackProbe } from "../../infra/k8s/deploy-plan.ts";
import { pgbouncerDeployment, postgresConfigMap, probeEnvLayout, probeDeployment } from "../../infra/k8s/manifests/index.ts";
import { PROJECT_DIR, devConfig } from "./fixtures.ts";
import { MOCK_DIGEST, byType, named, stashed, unwrapSecret, wasSecret, parentTypeOf, recorded, setRecordingMocks, settled, valueOf } from "./pulumi-mocks.ts";

type Components = { secrets: typeof SecretsModule; pgbouncer: typeof PgBouncerModule; probe: typeof ProbeModule };

const cfg = devConfig();
let secrets: pulumi.Output<StackSecrets>;
let tls: CertificatesModule.GeneratedCertificates;
/** Pinned, so the leaves' Stash name is known. */
const NOW = new Date("2026-06-01T00:00:00Z");
let mod: Components;
let registry: RegistryModule.LocalRegistry;
const probeContext = join(PROJECT_DIR, "app-probe");

/** The dev stack's probe build as the program plans it: kind's defaults, pushed to kind's local registry. */
function devBuild(): { imageName: string; registryServer: string } {
  const plan = stackProbe(cfg);
  if (plan.source !== "build") throw new Error(`the dev stack's probe is ${plan.source}, not a build`);
  return { imageName: plan.imageName, registryServer: plan.registryServer };
}

beforeAll(async () => {
  await setRecordingMocks();
  // Imported only once the mocks are in place.
  mod = {
    secrets: await import("../../infra/k8s/secrets.ts"),
    pgbouncer: await import("../../infra/k8s/pgbouncer.ts"),
    probe: await import("../../infra/k8s/probe.ts"),
  };
  const { StackNamespace } = await import("../../infra/k8s/namespace.ts");
  const { Postgres } = await import("../../infra/k8s/postgres.ts");
  const { Redis } = await import("../../infra/k8s/redis.ts");
  const { NetworkPolicies } = await import("../../infra/k8s/network-policies.ts");
  const { LocalRegistry } = await import("../../infra/k8s/registry.ts");
  const ns = new StackNamespace("pooling", { config: cfg });
  secrets = new mod.secrets.GeneratedSecrets("pooling").secrets;
  const { GeneratedCertificates } = await import("../../infra/k8s/certificates.ts");
  tls = new GeneratedCertificates("pooling", { config: cfg, now: NOW });
  const certificates = tls.certificates;
  const postgres = new Postgres("postgres", { config: cfg, secrets, certificates, dependsOn: [ns] });
  const pgbouncer = new mod.pgbouncer.PgBouncer("pgbouncer", { config: cfg, secrets, certificates, dependsOn: [ns, postgres] });
  const redis = new Redis("redis", { config: cfg, secrets, certificates, dependsOn: [ns] });
  new NetworkPolicies("pooling", { config: cfg, dependsOn: [ns] });
  registry = new LocalRegistry("kind-registry");
  new mod.probe.ProbeApp("probe", { config: cfg, secrets, certificates, ...devBuild(), registry, buildContext: probeContext, dependsOn: [ns, pgbouncer, redis] });
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
      "pooling-app-secret": ["pulumi:index:Stash", "pooling:secrets:GeneratedSecrets"],
      "pooling-redis-secret": ["pulumi:index:Stash", "pooling:secrets:GeneratedSecrets"],
      "pooling-tls-ca": ["pulumi:index:Stash", "pooling:tls:GeneratedCertificates"],
      "postgres-tls": ["kubernetes:core/v1:Secret", "pooling:postgres:Postgres"],
      "pgbouncer-tls": ["kubernetes:core/v1:Secret", "pooling:pgbouncer:PgBouncer"],
      "redis-tls": ["kubernetes:core/v1:Secret", "pooling:redis:Redis"],
      "probe-tls": ["kubernetes:core/v1:Secret", "pooling:probe:ProbeApp"],
    };
    for (const [name, [type, parent]] of Object.entries(expected)) {
      expect(named(name).type, name).toBe(type);
      expect(parentTypeOf(name), name).toBe(parent);
    }
    expect(passwordStashes().map((r) => r.name).sort()).toEqual(["pooling-app-secret", "pooling-pgbouncerAdmin-secret", "pooling-pgbouncerStats-secret", "pooling-redis-secret", "pooling-superuser-secret"]);
  });

  it("passes the pure builders' objects to Kubernetes unchanged", () => {
    expect(named("pgbouncer-deployment").inputs).toEqual(JSON.parse(JSON.stringify(pgbouncerDeployment(cfg))));
    expect(named("postgres-config").inputs).toEqual(postgresConfigMap(cfg));
  });

  it("deploys the probe by the pushed image's digest, after the registry exists", () => {
    expect(named("probe-deployment").inputs).toEqual(JSON.parse(JSON.stringify(probeDeployment(cfg, MOCK_DIGEST, probeEnvLayout(cfg)))));
    expect(named("probe-image").inputs).toMatchObject({ imageName: `localhost:${KIND.registryHostPort}/pooling-probe:dev`, registry: { server: `localhost:${KIND.registryHostPort}` } });
  });

  it("pushes the probe image to the registry the stack runs", () => {
    const imageName = named("probe-image").inputs.imageName as string;
    expect(imageName.startsWith(`${registry.server}/`), `${imageName} is not on ${registry.server}: deploy-plan.ts's kind default must be the LocalRegistry's server`).toBe(true);
  });

  it("hands the provider the Dockerfile as an absolute path inside the build context", () => {
    const build = named("probe-image").inputs.build as { context: string; dockerfile: string };
    expect(build).toEqual({ context: probeContext, dockerfile: join(PROJECT_DIR, "app-probe", "Dockerfile") });
    expect(isAbsolute(build.dockerfile)).toBe(true);
    expect(existsSync(build.dockerfile)).toBe(true);
  });

  it("runs the registry as pooling-registry on KIND's host port, loopback only, on the kind network", () => {
    expect(named("kind-registry-container").inputs).toMatchObject({
      name: "pooling-registry",
      ports: [{ internal: 5000, external: KIND.registryHostPort, ip: "127.0.0.1" }],
      networksAdvanced: [{ name: "kind" }],
    });
  });
});

describe("the probe's Dockerfile", () => {
  it("fails with POOLING_PROBE_DOCKERFILE_MISSING, registering nothing, when the build context has none", async () => {
    const empty = mkdtempSync(join(tmpdir(), "pooling-context-"));
    try {
      const before = recorded.length;
      const create = () => new mod.probe.ProbeApp("nodockerfile", { config: cfg, secrets, ...devBuild(), registry, buildContext: empty });
      expect(create).toThrow(expect.objectContaining({ code: "POOLING_PROBE_DOCKERFILE_MISSING", message: expect.stringContaining(join(empty, "Dockerfile")) }));
      await settled();
      expect(recorded.slice(before).map((r) => r.name)).toEqual([]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("refuses a Dockerfile outside the build context with POOLING_PROBE_DOCKERFILE_OUTSIDE_CONTEXT", () => {
    expect(() => mod.probe.probeBuildPaths(probeContext, "../Dockerfile", () => true)).toThrow(expect.objectContaining({ code: "POOLING_PROBE_DOCKERFILE_OUTSIDE_CONTEXT" }));
    expect(mod.probe.probeBuildPaths(probeContext, "docker/Dockerfile.dev", () => true).dockerfile).toBe(join(probeContext, "docker", "Dockerfile.dev"));
  });
});

const passwordStashes = () => byType("pulumi:index:Stash").filter((r) => parentTypeOf(r.name) === "pooling:secrets:GeneratedSecrets");

describe("secrets", () => {
  const stashedValues = () => passwordStashes().map((r) => unwrapSecret(r.inputs.input) as string | { password: string; salt: string });
  const passwords = () => stashedValues().map((v) => (typeof v === "string" ? v : v.password));

  it("never reach a ConfigMap, a Deployment or a StatefulSet", () => {
    const plain = recorded.filter((r) => /ConfigMap|Deployment|StatefulSet|Service|NetworkPolicy|Namespace/.test(r.type));
    expect(plain.length).toBeGreaterThan(10);
    for (const p of passwords()) expect(JSON.stringify(plain.map((r) => r.inputs))).not.toContain(p);
  });

  it("are URL-safe passwords of 24 random bytes with 16-byte SCRAM salts, kept in state by Stashes whose later inputs are ignored", () => {
    for (const p of passwords()) expect(p).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(new Set(passwords()).size).toBe(5);
    for (const v of stashedValues()) if (typeof v !== "string") expect(Buffer.from(v.salt, "base64")).toHaveLength(16);
    for (const r of passwordStashes()) expect(wasSecret(r.inputs.input), r.name).toBe(true);
  });

  it("are stored in Kubernetes Secrets", () => {
    const stored = JSON.stringify(byType("kubernetes:core/v1:Secret").map((r) => r.inputs));
    for (const p of passwords()) expect(stored).toContain(p);
  });

  it("are a Pulumi secret as a whole", async () => {
    const pulumi = await import("@pulumi/pulumi");
    expect(await pulumi.isSecret(secrets)).toBe(true);
    expect((await valueOf(secrets)).app.password).toBe(stashed<{ password: string }>("pooling-app-secret").password);
  });
});

describe("certificates", () => {
  const leavesStash = () => byType("pulumi:index:Stash").find((r) => r.name.startsWith("pooling-tls-leaves-"))!;
  const leaves = () => unwrapSecret(leavesStash().inputs.input) as StackLeaves;
  const keys = () => Object.values(leaves()).map((p) => p.key);

  it("keep the CA and the leaves in secret Stashes, the leaves' named by the renewal epoch", () => {
    expect(leavesStash().name).toMatch(new RegExp(`^pooling-tls-leaves-e${renewalEpoch(cfg.tls, NOW)}-[0-9a-f]{8}$`));
    expect(parentTypeOf(leavesStash().name)).toBe("pooling:tls:GeneratedCertificates");
    expect(wasSecret(leavesStash().inputs.input)).toBe(true);
    expect(wasSecret(named("pooling-tls-ca").inputs.input)).toBe(true);
  });

  it("sign every server's leaf with the kept CA, for every name its clients use", () => {
    const ca = new X509Certificate(stashed<PemPair>("pooling-tls-ca").cert);
    for (const [server, svc] of [["postgres", "postgres"], ["pgbouncer", "pgbouncer"], ["redis", "redis"]] as const) {
      const leaf = new X509Certificate(leaves()[server].cert);
      expect(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), server).toBe(true);
      for (const name of [svc, `${svc}.${cfg.namespace}`, `${svc}.${cfg.namespace}.svc`, `${svc}.${cfg.namespace}.svc.cluster.local`, "localhost"]) expect(leaf.checkHost(name), `${server}: ${name}`).toBe(name);
      expect(leaf.checkIP("127.0.0.1"), server).toBe("127.0.0.1");
    }
  });

  it("reach the pods only through Secrets: no key in a ConfigMap, a Deployment or a StatefulSet", () => {
    const plain = JSON.stringify(recorded.filter((r) => /ConfigMap|Deployment|StatefulSet|Service|NetworkPolicy|Namespace/.test(r.type)).map((r) => r.inputs));
    for (const key of keys()) expect(plain).not.toContain(key.split("\n")[1]);
    const stored = JSON.stringify(byType("kubernetes:core/v1:Secret").map((r) => r.inputs));
    for (const key of keys()) expect(stored).toContain(JSON.stringify(key).slice(1, 60));
  });

  it("are a Pulumi secret, the CA certificate alone is not", async () => {
    const pulumi = await import("@pulumi/pulumi");
    expect(await pulumi.isSecret(tls.certificates)).toBe(true);
    expect(await pulumi.isSecret(tls.caCertificate)).toBe(false);
    expect(await valueOf(tls.caCertificate)).toBe(stashed<PemPair>("pooling-tls-ca").cert);
  });
});

describe("PgBouncer with one replica", () => {
  it("registers no PodDisruptionBudget", async () => {
    const before = recorded.length;
    const one = devConfig({ pgbouncer: { replicas: 1 }, namespace: "single" });
    const component = new mod.pgbouncer.PgBouncer("single", { config: one, secrets, certificates: tls.certificates });
    await valueOf(component.deployment.urn);
    await settled();
    const added = recorded.slice(before).map((r) => r.name);
    expect(added).toEqual(expect.arrayContaining(["single", "single-config", "single-secret", "single-service", "single-deployment"]));
    expect(added).not.toContain("single-pdb");
    expect(component.podDisruptionBudget).toBeUndefined();
  });
});
