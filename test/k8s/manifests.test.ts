/** The pure manifest builders, without Pulumi and without mocks: what every pod must look like. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PGBOUNCER_ROLLOUT } from "../../infra/config/index.ts";
import { ENDPOINT_DRAIN_SECONDS } from "../../infra/k8s/manifests/pgbouncer-drain.ts";
import { PROBE_SECRET_ENV_VARS, loadProbeEnv } from "../../app-probe/src/env.ts";
import {
  REDACTED,
  pgbouncerConfigMap,
  pgbouncerDeployment,
  pgbouncerPodDisruptionBudget,
  pgbouncerSecretData,
  postgresConfigMap,
  postgresSecretData,
  postgresStatefulSet,
  probeEnv,
  redisConfigMap,
  redisSecretData,
  renderManifests,
  RESTART_CHECKSUM_ANNOTATION,
  PGDATA,
  PGDATA_MOUNT,
  images,
  CONFIG_CHECKSUM_ANNOTATION,
  redisStatefulSet,
  networkPolicies,
} from "../../infra/k8s/manifests/index.ts";
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { policies } from "../../policy/policies/index.ts";
import { messages, validate, validateStack, type Manifest } from "../policy/fakes.ts";
import { KNOWN_PASSWORDS, KNOWN_SECRETS, PROJECT_DIR, asManifest, devConfig, podTemplates, type ContainerLike } from "./fixtures.ts";

const all = () => renderManifests(devConfig());
const containersOf = (objects: readonly unknown[]) =>
  podTemplates(objects).flatMap(({ name, template }) => template.spec.containers.map((c) => ({ pod: name, c })));
const initContainersOf = (objects: readonly unknown[]) =>
  podTemplates(objects).flatMap(({ name, template }) => (template.spec.initContainers ?? []).map((c) => ({ pod: name, c })));

describe("every container", () => {
  const containers = containersOf(all().map((m) => m.object));

  // Resources and probes, the restricted Pod Security Standard, pinned images and plain secrets are the
  // policy pack's rules (policy/policies/): the rendered stack is run through the pack itself here,
  // once, rather than through a second copy of each rule. What follows are the manifests' own promises
  // that no policy makes.
  it("pass every policy of the pack", async () => {
    const manifests = all().map((m) => structuredClone(m.object) as Manifest);
    const found: string[] = [];
    for (const policy of policies) {
      const report = "validateStack" in policy ? await validateStack(policy, manifests) : undefined;
      if (report) found.push(...messages(report).map((m) => `${policy.name}: ${m}`));
      else for (const m of manifests) found.push(...messages(await validate(policy as ResourceValidationPolicy, m)).map((x) => `${policy.name}: ${x}`));
    }
    expect(policies.length).toBe(5);
    expect(found).toEqual([]);
  });

  it("has a read-only root filesystem (beyond the restricted standard)", () => {
    for (const { pod, c } of containers) expect(c.securityContext?.readOnlyRootFilesystem, `${pod} ${c.name}`).toBe(true);
  });

  it("mounts every ConfigMap and Secret as a directory, never with subPath, so the kubelet updates it", () => {
    for (const { pod, c } of containers) for (const m of c.volumeMounts ?? []) expect(m.subPath, `${pod} ${c.name} ${m.mountPath}`).toBeUndefined();
  });

  it("takes the probe's URLs and the servers' passwords from a Secret (the pack refuses plain values; this names the variables that must be there)", () => {
    const env = [...containers, ...initContainersOf(all().map((m) => m.object))].flatMap(({ c }) => c.env ?? []);
    for (const name of [...PROBE_SECRET_ENV_VARS.filter((v) => v !== "DIRECT_DATABASE_URL"), "POSTGRES_PASSWORD", "REDISCLI_AUTH"]) {
      expect(env.find((e) => e.name === name)?.valueFrom?.secretKeyRef, name).toBeDefined();
    }
  });
});

describe("labels", () => {
  it("mark every object as part of pooling and managed by pulumi, and every workload with its name and component", () => {
    for (const { file, object } of all()) {
      const m = asManifest(object);
      expect(m.metadata.labels, file).toMatchObject({ "app.kubernetes.io/part-of": "pooling", "app.kubernetes.io/managed-by": "pulumi" });
    }
    for (const { name, template } of podTemplates(all().map((m) => m.object))) {
      expect(Object.keys(template.metadata.labels), name).toEqual(expect.arrayContaining(["app.kubernetes.io/name", "app.kubernetes.io/component"]));
    }
  });
});

describe("NetworkPolicies", () => {
  const ingress = (app: "postgres" | "pgbouncer" | "redis" | "probe") =>
    (networkPolicies(devConfig())[app].spec as { ingress: Array<{ from?: Array<{ podSelector: { matchLabels: Record<string, string> } }>; ports: Array<{ port: number }> }> }).ingress.map(
      (r) => `${r.from?.[0]?.podSelector.matchLabels["app.kubernetes.io/name"] ?? "anyone"} -> ${r.ports[0]!.port}`,
    );

  it("let only PgBouncer reach PostgreSQL, and anyone only its exporter", () => {
    expect(ingress("postgres")).toEqual(["pgbouncer -> 5432", "anyone -> 9187"]);
  });

  it("let only the probe reach PgBouncer and Redis", () => {
    expect(ingress("pgbouncer")).toEqual(["app-probe -> 6432", "anyone -> 9127"]);
    expect(ingress("redis")).toEqual(["app-probe -> 6379", "anyone -> 9121"]);
  });
});

describe("secrets", () => {
  it("never put a password in a ConfigMap, a pod template or any rendered manifest", () => {
    const cfg = devConfig();
    // The builders that take no secrets cannot leak one; the Secret builders are the only way in.
    const secretValues = [postgresSecretData, pgbouncerSecretData, redisSecretData].flatMap((f) => Object.values(f(cfg, KNOWN_SECRETS)));
    const nonSecret = JSON.stringify([postgresConfigMap(cfg), pgbouncerConfigMap(cfg), redisConfigMap(cfg), postgresStatefulSet(cfg), pgbouncerDeployment(cfg)]);
    for (const p of KNOWN_PASSWORDS) {
      expect(secretValues.join("\n")).toContain(p);
      expect(nonSecret).not.toContain(p);
    }
    expect(JSON.stringify(all())).not.toMatch(/standin/);
  });

  it("keep requirepass out of redis.conf: it is included from the Secret", () => {
    const conf = redisConfigMap(devConfig()).data as Record<string, string>;
    expect(conf["redis.conf"]).not.toMatch(/requirepass/);
    expect(conf["redis.conf"]).toMatch(/^include \/etc\/redis-auth\/redis-auth\.conf$/m);
    expect(redisSecretData(devConfig(), KNOWN_SECRETS)["redis-auth.conf"]).toBe(`requirepass "${KNOWN_SECRETS.redisPassword}"\n`);
  });

  it("are redacted in every rendered Secret, keeping their keys", () => {
    const secrets = all().filter((m) => asManifest(m.object).kind === "Secret");
    expect(secrets.map((s) => s.file).sort()).toEqual([
      "app-probe/secret.yaml",
      "app-probe/tls-secret.yaml",
      "pgbouncer/secret.yaml",
      "pgbouncer/tls-secret.yaml",
      "postgres/secret.yaml",
      "postgres/tls-secret.yaml",
      "redis/secret.yaml",
      "redis/tls-secret.yaml",
    ]);
    for (const s of secrets) {
      const data = asManifest(s.object).stringData ?? {};
      expect(Object.keys(data).length, s.file).toBeGreaterThan(0);
      for (const v of Object.values(data)) expect(v, s.file).toBe(REDACTED);
    }
  });

  it("give the probe its URLs through the Secret and everything else as plain values", () => {
    const env = probeEnv(devConfig(), KNOWN_SECRETS);
    expect(Object.keys(env.secret).sort()).toEqual(["DATABASE_URL", "PGBOUNCER_ADMIN_URL", "REDIS_URL"]);
    for (const p of KNOWN_PASSWORDS) expect(JSON.stringify(env.plain)).not.toContain(p);
    expect(env.secret.DATABASE_URL).toBe(
      `postgresql://app:${KNOWN_SECRETS.app.password}@pgbouncer.pooling.svc.cluster.local:6432/app?sslmode=verify-full&sslrootcert=%2Fetc%2Fpooling%2Ftls%2Fca.crt`,
    );
    expect(env.plain.TLS_CA_FILE).toBe("/etc/pooling/tls/ca.crt");
  });

  it("give the probe an environment its own loader accepts, with the pool sizes of pooling:probe", () => {
    const env = probeEnv(devConfig(), KNOWN_SECRETS);
    const loaded = loadProbeEnv({ ...env.plain, ...env.secret });
    expect(loaded).toMatchObject({ host: "0.0.0.0", port: 8080, pgPoolMax: 20, directDatabaseUrl: undefined });
  });
});

describe("PgBouncer", () => {
  it("gets no PodDisruptionBudget for one replica, so a node drain is never blocked", () => {
    expect(pgbouncerPodDisruptionBudget(devConfig({ pgbouncer: { replicas: 1 } }))).toBeUndefined();
    expect(renderManifests(devConfig({ pgbouncer: { replicas: 1 } })).map((m) => m.file)).not.toContain("pgbouncer/poddisruptionbudget.yaml");
  });

  it("keeps all but one replica through disruptions: minAvailable = replicas - 1", () => {
    expect(pgbouncerPodDisruptionBudget(devConfig({ pgbouncer: { replicas: 3 } }))?.spec).toMatchObject({ minAvailable: 2 });
    expect(pgbouncerPodDisruptionBudget(devConfig())?.spec).toMatchObject({ minAvailable: 1 });
  });

  const checksum = (overrides: Record<string, unknown>) =>
    asManifest(pgbouncerDeployment(devConfig({ pgbouncer: overrides }))).spec!.template!.metadata.annotations![RESTART_CHECKSUM_ANNOTATION];

  it("rolls its pods when a restart-only setting (listen port) changes", () => {
    expect(checksum({ port: 6433 })).not.toBe(checksum({}));
  });

  it("keeps its pods when a reloadable setting (defaultPoolSize) changes", () => {
    expect(checksum({ defaultPoolSize: 20 })).toBe(checksum({}));
  });

  it("changes only its ConfigMap, and no pod template anywhere, when defaultPoolSize changes", () => {
    const before = renderManifests(devConfig());
    const after = renderManifests(devConfig({ pgbouncer: { defaultPoolSize: 20 } }));
    const changed = after.filter((m, i) => JSON.stringify(m) !== JSON.stringify(before[i])).map((m) => m.file);
    expect(changed).toEqual(["pgbouncer/configmap.yaml"]);
    expect(JSON.stringify(podTemplates(after.map((m) => m.object)))).toBe(JSON.stringify(podTemplates(before.map((m) => m.object))));
  });

  it("spreads its replicas across nodes", () => {
    const spec = asManifest(pgbouncerDeployment(devConfig())).spec!.template!.spec as { topologySpreadConstraints?: Array<{ topologyKey: string }> };
    expect(spec.topologySpreadConstraints?.[0]?.topologyKey).toBe("kubernetes.io/hostname");
  });

  const pgbouncerPod = (pgbouncer: Record<string, unknown> = {}) => asManifest(pgbouncerDeployment(devConfig({ pgbouncer }))).spec!.template!.spec;
  const preStop = (version: string) => pgbouncerPod({ version }).containers.find((c) => c.name === "pgbouncer")!.lifecycle!.preStop!.exec!.command.join(" ");

  it("drains with SIGINT, PgBouncer's safe shutdown (wait for servers), on every version", () => {
    for (const version of ["1.18", "1.22", "1.24", "1.25"]) {
      expect(preStop(version), version).toContain("kill -INT 1");
      expect(preStop(version), version).not.toMatch(/WAIT_FOR_CLIENTS|-TERM/);
    }
  });

  it("gives the drain its config's timeouts: endpoint drain + longest query + margin", () => {
    const grace = (pgbouncer: Record<string, unknown>) => pgbouncerPod(pgbouncer).terminationGracePeriodSeconds;
    expect(grace({})).toBe(5 + 60 + 5);
    expect(grace({ queryTimeout: "90s", queryWaitTimeout: "180s" })).toBe(5 + 90 + 5);
  });

  it("probes PgBouncer from inside its container, so a NetworkPolicy that admits only the probe app cannot cut the kubelet off", () => {
    const c = pgbouncerPod().containers.find((x) => x.name === "pgbouncer")!;
    for (const probe of [c.readinessProbe, c.livenessProbe]) {
      expect(probe?.tcpSocket).toBeUndefined();
      expect(probe?.exec?.command[0]).toBe("pg_isready");
    }
  });

  it("rolls as the connection budget counts, each step outlasting the drain of the pod stopped before it", () => {
    const spec = asManifest(pgbouncerDeployment(devConfig())).spec!;
    expect((spec.strategy as { rollingUpdate: unknown }).rollingUpdate).toEqual(PGBOUNCER_ROLLOUT);
    expect(spec.minReadySeconds).toBeGreaterThan(ENDPOINT_DRAIN_SECONDS);
  });

  it("runs a reloader that sends RELOAD when the mounted ini, hba file or userlist changes", () => {
    const pod = asManifest(pgbouncerDeployment(devConfig())).spec!.template!.spec;
    const script = pod.containers.find((c) => c.name === "reloader")!.command!.join(" ");
    expect(script).toContain("/etc/pgbouncer/pgbouncer.ini /etc/pgbouncer/pgbouncer_hba.conf /etc/pgbouncer-auth/userlist.txt");
    expect(script).toContain("-c 'RELOAD'");
  });

  it("runs a reloader that exits on SIGTERM: it traps it and sleeps with wait, since PID 1 ignores untrapped signals", () => {
    const script = pgbouncerPod().containers.find((c) => c.name === "reloader")!.command!.join(" ");
    expect(script).toContain("trap 'exit 0' TERM INT");
    expect(script).toMatch(/sleep \d+ & wait \$!/);
  });
});

describe("images", () => {
  it("are the pinned, published tags of infra/config/images.ts", () => {
    const byName = Object.fromEntries(containersOf(all().map((m) => m.object)).map(({ c }) => [c.name, c.image]));
    expect(byName).toMatchObject({
      postgres: "postgres:17.11-bookworm",
      pgbouncer: "edoburu/pgbouncer:v1.24.1-p1",
      reloader: "edoburu/pgbouncer:v1.24.1-p1",
      redis: "redis:7.4.11-bookworm",
      "postgres-exporter": "quay.io/prometheuscommunity/postgres-exporter:v0.17.1",
      "pgbouncer-exporter": "quay.io/prometheuscommunity/pgbouncer-exporter:v0.10.2",
      "redis-exporter": "oliver006/redis_exporter:v1.67.0",
    });
  });

  it("follow the configured version, exact releases included", () => {
    expect(images(devConfig({ pgbouncer: { version: "1.18" }, postgres: { version: "15" }, redis: { version: "7.2" } }))).toMatchObject({
      pgbouncer: "edoburu/pgbouncer:1.18.0",
      postgres: "postgres:15.19-bookworm",
      redis: "redis:7.2.16-bookworm",
    });
    expect(images(devConfig({ pgbouncer: { version: "1.25.2" } })).pgbouncer).toBe("edoburu/pgbouncer:v1.25.2-p0");
  });

  it("refuse, before rendering, a version whose image tag no publisher's material shows", () => {
    expect(() => devConfig({ pgbouncer: { version: "1.21" } })).toThrow(/pooling:pgbouncer\.version = "1\.21": no published image is pinned/);
    expect(() => devConfig({ pgbouncer: { version: "1.24.0" } })).toThrow(/pooling:pgbouncer\.version = "1\.24\.0"/);
    expect(() => devConfig({ postgres: { version: "14" } })).toThrow(/pooling:postgres\.version = "14"/);
    expect(() => devConfig({ redis: { version: "7.0" } })).toThrow(/pooling:redis\.version = "7\.0"/);
  });

  it("are started by the project's own command in every container, never by an image's entrypoint", () => {
    const objects = all().map((m) => m.object);
    const every = podTemplates(objects).flatMap(({ template }) => [...(template.spec.initContainers ?? []), ...template.spec.containers]);
    for (const c of every) expect(c.command?.length, c.name).toBeGreaterThan(0);
  });

  it("start the probe as its Dockerfile's CMD in its WORKDIR", () => {
    const dockerfile = readFileSync(`${PROJECT_DIR}app-probe/Dockerfile`, "utf8");
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    const workdir = [...dockerfile.matchAll(/^WORKDIR (\S+)$/gm)].at(-1)![1];
    const probe = containersOf(all().map((m) => m.object)).find(({ c }) => c.name === "app-probe")!.c;
    expect(probe.command).toEqual(cmd);
    expect(probe.workingDir).toBe(workdir);
  });
});

describe("PostgreSQL", () => {
  const pod = () => asManifest(postgresStatefulSet(devConfig())).spec!.template!.spec;

  it("runs postgres itself as PID 1 with the rendered config file, and keeps its data in a claim of postgres.storage", () => {
    const sts = postgresStatefulSet(devConfig()) as { spec: { template: { spec: { containers: ContainerLike[] } }; volumeClaimTemplates: unknown[] } };
    expect(sts.spec.template.spec.containers[0]!.command).toEqual(["postgres", "-D", PGDATA, "-c", "config_file=/etc/postgresql/postgresql.conf"]);
    expect(sts.spec.template.spec.containers[0]!.args).toBeUndefined();
    expect(sts.spec.volumeClaimTemplates).toMatchObject([{ spec: { resources: { requests: { storage: "2Gi" } } } }]);
  });

  it("keeps PGDATA in a subdirectory of the claim that an init container creates and sets to 0700 on every start", () => {
    expect(PGDATA.startsWith(`${PGDATA_MOUNT}/`)).toBe(true);
    const init = pod().initContainers!;
    expect(init.map((c) => c.name)).toEqual(["initdb"]);
    const script = init[0]!.command!.join(" ");
    expect(script).toContain(`chmod 0700 ${PGDATA}`);
    expect(script).toMatch(/initdb -D \S+ --username=postgres --pwfile=\S+ --auth=scram-sha-256/);
    expect(script).not.toContain("docker-entrypoint");
  });

  it("stops with a fast shutdown (SIGINT to PID 1), since SIGTERM is PostgreSQL's smart shutdown", () => {
    const c = pod().containers.find((x) => x.name === "postgres")!;
    expect(c.lifecycle!.preStop!.exec!.command.join(" ")).toContain("kill -INT 1");
  });

  it("creates the app role on first start with the same SCRAM verifier PgBouncer holds", async () => {
    const { verifierOf } = await import("../../infra/render/index.ts");
    const verifier = verifierOf(KNOWN_SECRETS.app);
    const sql = postgresSecretData(devConfig(), KNOWN_SECRETS)["10-app-role.sql"];
    expect(sql).toContain(`CREATE ROLE "app" LOGIN PASSWORD '${verifier}';`);
    expect(pgbouncerSecretData(devConfig(), KNOWN_SECRETS)["userlist.txt"]).toContain(`"app" "${verifier}"`);
    expect(sql).not.toContain(KNOWN_SECRETS.app.password);
  });
});

describe("PostgreSQL and Redis config changes", () => {
  const pgSum = (raw: Record<string, unknown>) =>
    asManifest(postgresStatefulSet(devConfig(raw))).spec!.template!.metadata.annotations![CONFIG_CHECKSUM_ANNOTATION];
  const redisSum = (raw: Record<string, unknown>) =>
    asManifest(redisStatefulSet(devConfig(raw))).spec!.template!.metadata.annotations![CONFIG_CHECKSUM_ANNOTATION];

  it("roll the PostgreSQL pod when postgresql.conf changes, since the server does not re-read the mount", () => {
    expect(pgSum({ postgres: { maxConnections: 210 } })).not.toBe(pgSum({}));
  });

  it("leave the PostgreSQL pod alone when only a PgBouncer setting changes", () => {
    expect(pgSum({ pgbouncer: { defaultPoolSize: 20 } })).toBe(pgSum({}));
  });

  it("roll the Redis pod when redis.conf changes", () => {
    expect(redisSum({ redis: { maxClients: 2000 } })).not.toBe(redisSum({}));
    expect(redisSum({ pgbouncer: { defaultPoolSize: 20 } })).toBe(redisSum({}));
  });
});
