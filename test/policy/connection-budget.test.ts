import { describe, expect, it } from "vitest";
import { connectionBudget, parseStackConfig } from "../../infra/config/index.ts";
import { connectionBudgetFits } from "../../policy/policies/index.ts";
import { poolerConnections, postgresConnections } from "../../policy/policies/connection-budget.ts";
import { NotApplicable, messages, realManifests, validateStack, type Manifest } from "./fakes.ts";

const find = (all: Manifest[], kind: string, name: string) => all.find((m) => m.kind === kind && (m.metadata as { name: string }).name === name)!;
const iniOf = (all: Manifest[]) => (find(all, "ConfigMap", "pgbouncer-config").data as Record<string, string>)["pgbouncer.ini"]!;
const confOf = (all: Manifest[]) => (find(all, "ConfigMap", "postgres-config").data as Record<string, string>)["postgresql.conf"]!;

describe("policy pgbouncer-pools-fit-max-connections", () => {
  it("passes the rendered stack", async () => {
    expect(messages(await validateStack(connectionBudgetFits, realManifests()))).toEqual([]);
  });

  it("reads the same per-pod budget back out of pgbouncer.ini that the stack config computed", () => {
    const all = realManifests();
    expect(poolerConnections(iniOf(all)).perPod).toBe(connectionBudget(parseStackConfig({}, { stack: "test" })).perReplica);
    expect(postgresConnections(confOf(all))).toMatchObject({ maxConnections: 200, reserved: 3, usable: 197 });
  });

  it("reports replicas × max_db_connections above max_connections − superuser_reserved_connections, on the Deployment", async () => {
    const all = realManifests();
    (find(all, "Deployment", "pgbouncer").spec as { replicas: number }).replicas = 7;
    const report = await validateStack(connectionBudgetFits, all);
    expect(messages(report)).toEqual([
      'PgBouncer Deployment "pgbouncer" may open 7 replicas × 30 server connections (app: max_db_connections 30; ConfigMap "pgbouncer-config") = 210, ' +
        'more than PostgreSQL accepts: max_connections 200 − superuser_reserved_connections 3 = 197 (ConfigMap "postgres-config"). ' +
        "Lower pooling:pgbouncer.defaultPoolSize, pooling:pgbouncer.reservePoolSize or pooling:pgbouncer.replicas, or raise pooling:postgres.maxConnections to at least 213.",
    ]);
    expect(report.mock.calls[0]?.[1]).toBe("urn:pulumi:test::pooling::kubernetes:apps/v1:Deployment::pgbouncer");
  });

  it("uses default_pool_size + reserve_pool_size when max_db_connections is not set", async () => {
    const all = realManifests();
    const data = find(all, "ConfigMap", "pgbouncer-config").data as Record<string, string>;
    data["pgbouncer.ini"] = iniOf(all).replace(/^max_db_connections = .*$/m, "").replace("default_pool_size = 25", "default_pool_size = 95");
    const conf = find(all, "ConfigMap", "postgres-config").data as Record<string, string>;
    conf["postgresql.conf"] = confOf(all).replace("max_connections = 200", "max_connections = 150");
    expect(messages(await validateStack(connectionBudgetFits, all))).toEqual([expect.stringContaining("2 replicas × 100 server connections (app: pool size 95 + reserve pool 5")]);
  });

  it("is not applicable to a stack without a PgBouncer Deployment", async () => {
    const all = realManifests().filter((m) => m.kind !== "Deployment");
    await expect(validateStack(connectionBudgetFits, all)).rejects.toThrow(NotApplicable);
  });
});
