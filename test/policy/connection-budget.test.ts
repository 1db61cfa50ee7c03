import { describe, expect, it } from "vitest";
import { connectionBudget, parseStackConfig, PGBOUNCER_ROLLOUT_EXTRA_PODS } from "../../infra/config/index.ts";
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

  it("counts the same pods during a rollout as the stack config's budget, from the Deployment's strategy", () => {
    const all = realManifests();
    const spec = deploymentSpec(all, "pgbouncer");
    const budget = connectionBudget(parseStackConfig({}, { stack: "test" }));
    expect(rolloutSurge(spec, spec.replicas)).toEqual({ pods: PGBOUNCER_ROLLOUT_EXTRA_PODS, detail: "maxSurge 0, maxUnavailable 1: 0 surging and 1 draining" });
    expect(spec.replicas + PGBOUNCER_ROLLOUT_EXTRA_PODS).toBe(budget.podsDuringRollout);
  });

  it("reports (replicas + surge) × max_db_connections above max_connections − superuser_reserved_connections, on the Deployment", async () => {
    const all = withPgbouncerRollout(seedPools(), { replicas: 7 });
    const report = await validateStack(connectionBudgetFits, all);
    expect(messages(report)).toEqual([
      'PgBouncer Deployment "pgbouncer" may open (7 replicas + 1 during a rollout: maxSurge 0, maxUnavailable 1: 0 surging and 1 draining) × 30 server connections ' +
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
      'PgBouncer Deployment "pgbouncer" may open (6 replicas + 1 during a rollout: maxSurge 0, maxUnavailable 1: 0 surging and 1 draining) × 30 server connections ' +
        '(app: max_db_connections 30; ConfigMap "pgbouncer-config") = 210, ' +
        'more than PostgreSQL accepts: max_connections 200 − superuser_reserved_connections 3 = 197 (ConfigMap "postgres-config"). ' +
        "It fits at rest (6 × 30 = 180), but not while a rollout runs new pods next to the old ones still draining. " +
        "Lower pooling:pgbouncer.defaultPoolSize, pooling:pgbouncer.reservePoolSize or pooling:pgbouncer.replicas, or raise pooling:postgres.maxConnections to at least 213.",
    ]);
  });

  it("passes the largest Deployment that fits during a rollout", async () => {
    // (5 + 1) × 30 = 180 ≤ 197.
    expect(messages(await validateStack(connectionBudgetFits, withPgbouncerRollout(seedPools(), { replicas: 5 })))).toEqual([]);
  });

  it("rounds a percentage maxSurge up against the replicas, as Kubernetes does, and counts the pods it drains", async () => {
    // 25% of 5 replicas is 1.25, so 2 pods surge and 2 drain: (5 + 4) × 30 = 270 > 197, where maxSurge 0 fits.
    const all = withPgbouncerRollout(seedPools(), { replicas: 5, maxSurge: "25%", maxUnavailable: 0 });
    expect(messages(await validateStack(connectionBudgetFits, all))).toEqual([
      expect.stringContaining('may open (5 replicas + 4 during a rollout: maxSurge "25%" of 5 replicas, rounded up, maxUnavailable 0: 2 surging and 2 draining) × 30 server connections'),
    ]);
  });

  it("counts a pod a step scales down as draining beside the surge: maxSurge 1 with two replicas holds four pods", async () => {
    // Seen on the local cluster (test/node/local-up.test.ts before the stack changed its strategy): (2 + 2) × 60 = 240 > 197, where (2 + 1) × 60 fits.
    const all = withPgbouncerRollout(realManifests({ pgbouncer: { defaultPoolSize: 55, minPoolSize: 10, reservePoolSize: 5 } }), { maxSurge: 1, maxUnavailable: 0 });
    expect(messages(await validateStack(connectionBudgetFits, all))).toEqual([expect.stringContaining("may open (2 replicas + 2 during a rollout: maxSurge 1, maxUnavailable 0: 1 surging and 1 draining) × 60 server connections")]);
  });

  it("takes Kubernetes' default maxSurge of 25% when the Deployment does not say", async () => {
    const all = withPgbouncerRollout(seedPools(), { replicas: 5, withoutRollingUpdate: true });
    expect(messages(await validateStack(connectionBudgetFits, all))).toEqual([
      expect.stringContaining(
        "may open (5 replicas + 5 during a rollout: maxSurge absent, so Kubernetes' default 25% of 5 replicas, rounded up, maxUnavailable absent, so Kubernetes' default 25% of 5 replicas, rounded down: 2 surging and 3 draining)",
      ),
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
      expect.stringContaining("(2 replicas + 1 during a rollout: maxSurge 0, maxUnavailable 1: 0 surging and 1 draining) × 100 server connections (app: pool size 95 + reserve pool 5"),
    ]);
  });

  it("is not applicable to a stack without a PgBouncer Deployment", async () => {
    const all = realManifests().filter((m) => m.kind !== "Deployment");
    await expect(validateStack(connectionBudgetFits, all)).rejects.toThrow(NotApplicable);
  });
});

describe("rolloutSurge", () => {
  const rolling = (maxSurge: unknown, maxUnavailable: unknown = 0) => ({ strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge, maxUnavailable } } });

  it("counts whole numbers as they are: the surge, and the pods a step scales down draining beside it", () => {
    expect(rolloutSurge(rolling(3), 2)).toEqual({ pods: 6, detail: "maxSurge 3, maxUnavailable 0: 3 surging and 3 draining" });
    expect(rolloutSurge(rolling(0, 1), 2)).toEqual({ pods: 1, detail: "maxSurge 0, maxUnavailable 1: 0 surging and 1 draining" });
    expect(rolloutSurge(rolling(1, 1), 4)).toMatchObject({ pods: 3 });
  });

  it("takes maxUnavailable 1 when both are zero, as the deployment controller does", () => {
    expect(rolloutSurge(rolling(0, 0), 2)).toMatchObject({ pods: 1 });
  });

  it("rounds a percentage surge up and a percentage unavailability down against the replicas", () => {
    expect(rolloutSurge(rolling("25%"), 2)).toMatchObject({ pods: 2 });
    expect(rolloutSurge(rolling("25%"), 5)).toMatchObject({ pods: 4 });
    expect(rolloutSurge(rolling("100%"), 3)).toMatchObject({ pods: 6 });
    expect(rolloutSurge(rolling(0, "25%"), 5)).toMatchObject({ pods: 1 });
    expect(rolloutSurge(rolling(0, "25%"), 3)).toMatchObject({ pods: 1 });
    expect(rolloutSurge(rolling(0, "50%"), 5)).toMatchObject({ pods: 2 });
  });

  it("takes 25% for both when the strategy, its type or the fields are absent, as Kubernetes defaults a Deployment", () => {
    for (const spec of [{}, { strategy: {} }, { strategy: { type: "RollingUpdate" } }, { strategy: { type: "RollingUpdate", rollingUpdate: {} } }]) {
      expect(rolloutSurge(spec, 8), JSON.stringify(spec)).toMatchObject({ pods: 2 * 2 + 2 });
    }
  });

  it("counts none for Recreate, whatever rollingUpdate says", () => {
    expect(rolloutSurge({ strategy: { type: "Recreate", rollingUpdate: { maxSurge: 5 } } }, 2)).toEqual({ pods: 0, detail: "strategy Recreate: old pods stop first" });
  });

  it("refuses what the Kubernetes API would refuse", () => {
    for (const v of ["1", "25", "-1%", "2.5%", -1, 1.5]) {
      expect(rolloutSurge(rolling(v), 2), `maxSurge ${String(v)}`).toHaveProperty("error");
      expect(rolloutSurge(rolling(0, v), 2), `maxUnavailable ${String(v)}`).toHaveProperty("error");
    }
    expect(rolloutSurge({ strategy: { type: "BlueGreen" } }, 2)).toEqual({ error: 'spec.strategy.type "BlueGreen" is neither RollingUpdate nor Recreate' });
  });
});
