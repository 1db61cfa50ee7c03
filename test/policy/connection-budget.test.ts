import { describe, expect, it } from "vitest";
import { connectionBudget, parseStackConfig, PGBOUNCER_MAX_SURGE } from "../../infra/config/index.ts";
import { connectionBudgetFits } from "../../policy/policies/index.ts";
import { poolerConnections, postgresConnections, rolloutSurge } from "../../policy/policies/connection-budget.ts";
import { NotApplicable, deploymentSpec, messages, realManifests, validateStack, withPgbouncerRollout, type Manifest } from "./fakes.ts";

const find = (all: Manifest[], kind: string, name: string) => all.find((m) => m.kind === kind && (m.metadata as { name: string }).name === name)!;
const iniOf = (all: Manifest[]) => (find(all, "ConfigMap", "pgbouncer-config").data as Record<string, string>)["pgbouncer.ini"]!;
const confOf = (all: Manifest[]) => (find(all, "ConfigMap", "postgres-config").data as Record<string, string>)["postgresql.conf"]!;

/**
 * The arithmetic below is written for 30 server connections per pod: the seed's pool sizes, set
 * explicitly, so it does not move with the derived default (whose rendering the first tests check).
 */
const seedPools = () => realManifests({ pgbouncer: { defaultPoolSize: 25, minPoolSize: 10, reservePoolSize: 5 } });

describe("policy pgbouncer-pools-fit-max-connections", () => {
  it("passes the rendered stack", async () => {
    expect(messages(await validateStack(connectionBudgetFits, realManifests()))).toEqual([]);
  });

  it("reads the same per-pod budget back out of pgbouncer.ini that the stack config computed", () => {
    const all = realManifests();
    expect(poolerConnections(iniOf(all)).perPod).toBe(connectionBudget(parseStackConfig({}, { stack: "test" })).perReplica);
    expect(postgresConnections(confOf(all))).toMatchObject({ maxConnections: 200, reserved: 3, usable: 197 });
  });

  it("counts the same pods during a rollout as the stack config's budget, from the Deployment's maxSurge", () => {
    const all = realManifests();
    const spec = deploymentSpec(all, "pgbouncer");
    const budget = connectionBudget(parseStackConfig({}, { stack: "test" }));
    expect(rolloutSurge(spec, spec.replicas)).toEqual({ pods: PGBOUNCER_MAX_SURGE, detail: `maxSurge ${PGBOUNCER_MAX_SURGE}` });
    expect(spec.replicas + PGBOUNCER_MAX_SURGE).toBe(budget.podsDuringRollout);
  });

  it("reports (replicas + surge) × max_db_connections above max_connections − superuser_reserved_connections, on the Deployment", async () => {
    const all = withPgbouncerRollout(seedPools(), { replicas: 7 });
    const report = await validateStack(connectionBudgetFits, all);
    expect(messages(report)).toEqual([
      'PgBouncer Deployment "pgbouncer" may open (7 replicas + 1 surging during a rollout: maxSurge 1) × 30 server connections ' +
        '(app: max_db_connections 30; ConfigMap "pgbouncer-config") = 240, ' +
        'more than PostgreSQL accepts: max_connections 200 − superuser_reserved_connections 3 = 197 (ConfigMap "postgres-config"). ' +
        "Lower pooling:pgbouncer.defaultPoolSize, pooling:pgbouncer.reservePoolSize or pooling:pgbouncer.replicas, or raise pooling:postgres.maxConnections to at least 243.",
    ]);
    expect(report.mock.calls[0]?.[1]).toBe("urn:pulumi:test::pooling::kubernetes:apps/v1:Deployment::pgbouncer");
  });

  it("reports a Deployment that fits at rest but not while a rollout surges, and says so", async () => {
    // 6 × 30 = 180 fits 197; (6 + 1) × 30 = 210 does not.
    const all = withPgbouncerRollout(seedPools(), { replicas: 6 });
    expect(messages(await validateStack(connectionBudgetFits, all))).toEqual([
      'PgBouncer Deployment "pgbouncer" may open (6 replicas + 1 surging during a rollout: maxSurge 1) × 30 server connections ' +
        '(app: max_db_connections 30; ConfigMap "pgbouncer-config") = 210, ' +
        'more than PostgreSQL accepts: max_connections 200 − superuser_reserved_connections 3 = 197 (ConfigMap "postgres-config"). ' +
        "It fits at rest (6 × 30 = 180), but not while a rollout runs the surge pods next to the old ones. " +
        "Lower pooling:pgbouncer.defaultPoolSize, pooling:pgbouncer.reservePoolSize or pooling:pgbouncer.replicas, or raise pooling:postgres.maxConnections to at least 213.",
    ]);
  });

  it("passes the largest Deployment that fits during a rollout", async () => {
    // (5 + 1) × 30 = 180 ≤ 197.
    expect(messages(await validateStack(connectionBudgetFits, withPgbouncerRollout(seedPools(), { replicas: 5 })))).toEqual([]);
  });

  it("rounds a percentage maxSurge up against the replicas, as Kubernetes does", async () => {
    // 25% of 5 replicas is 1.25, so 2 pods surge: (5 + 2) × 30 = 210 > 197, where maxSurge 1 fits.
    const all = withPgbouncerRollout(seedPools(), { replicas: 5, maxSurge: "25%" });
    expect(messages(await validateStack(connectionBudgetFits, all))).toEqual([
      expect.stringContaining('may open (5 replicas + 2 surging during a rollout: maxSurge "25%" of 5 replicas, rounded up) × 30 server connections'),
    ]);
  });

  it("takes Kubernetes' default maxSurge of 25% when the Deployment does not say", async () => {
    const all = withPgbouncerRollout(seedPools(), { replicas: 5, withoutRollingUpdate: true });
    expect(messages(await validateStack(connectionBudgetFits, all))).toEqual([
      expect.stringContaining("may open (5 replicas + 2 surging during a rollout: maxSurge absent, so Kubernetes' default 25% of 5 replicas, rounded up)"),
    ]);
  });

  it("counts no surge for the Recreate strategy", async () => {
    // 6 × 30 = 180 ≤ 197: Recreate stops the old pods before it starts new ones.
    const all = withPgbouncerRollout(seedPools(), { replicas: 6, type: "Recreate", withoutRollingUpdate: true });
    expect(messages(await validateStack(connectionBudgetFits, all))).toEqual([]);
  });

  it("reports a maxSurge it cannot count instead of guessing", async () => {
    const all = withPgbouncerRollout(seedPools(), { maxSurge: "one" });
    const report = await validateStack(connectionBudgetFits, all);
    expect(messages(report)).toEqual([
      'PgBouncer Deployment "pgbouncer": spec.strategy.rollingUpdate.maxSurge "one" is neither a whole number nor a percentage, ' +
        "so the pods a rollout runs cannot be counted against max_connections.",
    ]);
    expect(report.mock.calls[0]?.[1]).toBe("urn:pulumi:test::pooling::kubernetes:apps/v1:Deployment::pgbouncer");
  });

  it("uses default_pool_size + reserve_pool_size when max_db_connections is not set", async () => {
    const all = seedPools();
    const data = find(all, "ConfigMap", "pgbouncer-config").data as Record<string, string>;
    data["pgbouncer.ini"] = iniOf(all).replace(/^max_db_connections = .*$/m, "").replace("default_pool_size = 25", "default_pool_size = 95");
    const conf = find(all, "ConfigMap", "postgres-config").data as Record<string, string>;
    conf["postgresql.conf"] = confOf(all).replace("max_connections = 200", "max_connections = 150");
    expect(messages(await validateStack(connectionBudgetFits, all))).toEqual([
      expect.stringContaining("(2 replicas + 1 surging during a rollout: maxSurge 1) × 100 server connections (app: pool size 95 + reserve pool 5"),
    ]);
  });

  it("is not applicable to a stack without a PgBouncer Deployment", async () => {
    const all = realManifests().filter((m) => m.kind !== "Deployment");
    await expect(validateStack(connectionBudgetFits, all)).rejects.toThrow(NotApplicable);
  });
});

describe("rolloutSurge", () => {
  const rolling = (maxSurge: unknown) => ({ strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge, maxUnavailable: 0 } } });

  it("takes a whole-number maxSurge as it is", () => {
    expect(rolloutSurge(rolling(3), 2)).toEqual({ pods: 3, detail: "maxSurge 3" });
    expect(rolloutSurge(rolling(0), 2)).toMatchObject({ pods: 0 });
  });

  it("rounds a percentage up against the replicas", () => {
    expect(rolloutSurge(rolling("25%"), 2)).toMatchObject({ pods: 1 });
    expect(rolloutSurge(rolling("25%"), 4)).toMatchObject({ pods: 1 });
    expect(rolloutSurge(rolling("25%"), 5)).toMatchObject({ pods: 2 });
    expect(rolloutSurge(rolling("100%"), 3)).toMatchObject({ pods: 3 });
    expect(rolloutSurge(rolling("0%"), 3)).toMatchObject({ pods: 0 });
  });

  it("takes 25% when the strategy, its type or maxSurge is absent, as Kubernetes defaults a Deployment", () => {
    for (const spec of [{}, { strategy: {} }, { strategy: { type: "RollingUpdate" } }, rolling(undefined)]) {
      expect(rolloutSurge(spec, 8), JSON.stringify(spec)).toMatchObject({ pods: 2 });
    }
  });

  it("counts no surge for Recreate, whatever rollingUpdate says", () => {
    expect(rolloutSurge({ strategy: { type: "Recreate", rollingUpdate: { maxSurge: 5 } } }, 2)).toEqual({ pods: 0, detail: "strategy Recreate: no surge" });
  });

  it("refuses what the Kubernetes API would refuse", () => {
    for (const maxSurge of ["1", "25", "-1%", "2.5%", -1, 1.5]) expect(rolloutSurge(rolling(maxSurge), 2), String(maxSurge)).toHaveProperty("error");
    expect(rolloutSurge({ strategy: { type: "BlueGreen" } }, 2)).toEqual({ error: 'spec.strategy.type "BlueGreen" is neither RollingUpdate nor Recreate' });
  });
});
