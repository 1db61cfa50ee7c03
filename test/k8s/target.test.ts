/** Which cluster the program deploys to, and the local node's versions it validates the stack for. */
import { describe, expect, it } from "vitest";
import { clusterTarget, parseNodeVersions } from "../../infra/k8s/target.ts";
import { parseStackConfig } from "../../infra/config/index.ts";
import { formatStandInVersions } from "../../pods/node/versions.ts";
import { devRaw } from "./fixtures.ts";

describe("clusterTarget", () => {
  it("is the stack's own cluster (pooling:cluster) without POOLING_CLUSTER", () => {
    expect(clusterTarget({})).toEqual({ kind: "stack" });
  });

  it("refuses a POOLING_CLUSTER it does not know, naming the ones it does", () => {
    expect(() => clusterTarget({ POOLING_CLUSTER: "kind" })).toThrow(expect.objectContaining({ code: "POOLING_CLUSTER_TARGET", message: expect.stringContaining("stack, local, render") }));
  });

  it("takes the local node's versions from POOLING_NODE_VERSIONS, as pods/node/versions.ts prints them", () => {
    const env = { POOLING_CLUSTER: "local", KUBECONFIG: "/k", POOLING_NODE_VERSIONS: formatStandInVersions({ postgres: "15", pgbouncer: "1.18" }) };
    expect(clusterTarget(env)).toEqual({ kind: "local", kubeconfig: "/k", versions: { postgres: "15", pgbouncer: "1.18" } });
    expect(clusterTarget({ POOLING_CLUSTER: "local", KUBECONFIG: "/k" })).toEqual({ kind: "local", kubeconfig: "/k", versions: {} });
  });

  it.each(["postgres=fifteen", "mysql=8", "postgres=15;pgbouncer=1.18"])("refuses POOLING_NODE_VERSIONS=%s with the code and the expected form", (value) => {
    expect(() => parseNodeVersions(value)).toThrow(expect.objectContaining({ code: "POOLING_CLUSTER_TARGET", message: expect.stringContaining("postgres=15,pgbouncer=1.18") }));
  });

  it("makes the dev stack, which asks for PgBouncer 1.24's max_prepared_statements, valid for the node's PgBouncer 1.18", () => {
    const raw = devRaw();
    expect(parseStackConfig(raw, { stack: "dev" }).pgbouncer.maxPreparedStatements).toBeGreaterThan(0);
    const { versions } = clusterTarget({ POOLING_CLUSTER: "local", KUBECONFIG: "/k", POOLING_NODE_VERSIONS: "postgres=15,pgbouncer=1.18" }) as { versions: { postgres?: string; pgbouncer?: string } };
    const cfg = parseStackConfig(raw, { stack: "dev", versions });
    expect(cfg.pgbouncer.version).toBe("1.18");
    expect(cfg.postgres.version).toBe("15");
    expect(cfg.pgbouncer.maxPreparedStatements).toBeUndefined();
  });
});
