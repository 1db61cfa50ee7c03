import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../infra/config/index.ts";
import { generateSecrets, renderAll, type Runtime } from "../../infra/render/index.ts";
import { planReload } from "../../local/reload.ts";

const secrets = generateSecrets();
const TLS = { ca: "/t/ca.crt", cert: "/t/1/server.crt", key: "/t/1/server.key" };
const runtime: Runtime = {
  postgres: { listenAddresses: "127.0.0.1", port: 5432, unixSocketDir: "", hbaFile: "/c/pg_hba.conf", hbaNetworks: ["127.0.0.1/32"], tls: TLS },
  pgbouncer: { listenAddr: "127.0.0.1", listenPort: 6432, serverHost: "127.0.0.1", serverPort: 5432, authFile: "/c/userlist.txt", hbaFile: "/c/pgbouncer_hba.conf", clientNetworks: ["127.0.0.0/8"], unixSocketDir: "", tls: TLS },
  redis: { bind: "127.0.0.1", port: 6379, dir: "/d", authFile: "/c/redis-auth.conf", tls: TLS },
};
const state = (raw: Record<string, unknown>) => {
  const config = parseStackConfig(raw, { stack: "t" });
  return { config, files: renderAll(config, secrets, runtime) };
};
const plan = (before: Record<string, unknown>, after: Record<string, unknown>) => planReload(state(before), state(after), runtime.pgbouncer);

describe("what a stack-file change does to the running local stack", () => {
  it("does nothing when nothing that is rendered changed", () => {
    expect(plan({}, { namespace: "other" })).toEqual({ restartPostgres: false, bootstrap: false, pgbouncer: "none", restartRedis: false });
  });

  it("reloads PgBouncer for a pool size, restarting nothing", () => {
    expect(plan({}, { pgbouncer: { defaultPoolSize: 40 } })).toEqual({ restartPostgres: false, bootstrap: false, pgbouncer: "reload", restartRedis: false });
  });

  it("restarts PostgreSQL for max_connections", () => {
    expect(plan({}, { postgres: { maxConnections: 210 } }).restartPostgres).toBe(true);
  });

  it("creates the new role and database and reloads PgBouncer when the app user is renamed", () => {
    expect(plan({}, { postgres: { user: "shop" } })).toMatchObject({ bootstrap: true, pgbouncer: "reload" });
  });

  it("restarts Redis for maxclients", () => {
    expect(plan({}, { redis: { maxClients: 500 } })).toMatchObject({ restartRedis: true, pgbouncer: "none" });
  });
});
