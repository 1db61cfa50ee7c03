import { describe, expect, it } from "vitest";
import { PROBE_ENV_DEFAULTS, PROBE_ENV_VARS, ProbeEnvError, loadProbeEnv } from "./env.ts";

const required = { DATABASE_URL: "postgres://app:s3cretPw@pgbouncer:6432/app", REDIS_URL: "redis://:r3disPw@redis:6379" };

function issuesOf(env: NodeJS.ProcessEnv): ProbeEnvError {
  try {
    loadProbeEnv(env);
  } catch (err) {
    if (err instanceof ProbeEnvError) return err;
    throw err;
  }
  throw new Error("expected loadProbeEnv to throw");
}

describe("loadProbeEnv", () => {
  it("applies every default when only the required variables are set", () => {
    expect(loadProbeEnv(required)).toEqual({
      host: "0.0.0.0",
      port: 8080,
      databaseUrl: required.DATABASE_URL,
      directDatabaseUrl: undefined,
      pgbouncerAdminUrl: undefined,
      redisUrl: required.REDIS_URL,
      pgPoolMax: 20,
      pgIdleTimeoutMs: 10_000,
      pgConnectionTimeoutMs: 5000,
      pgPreparedStatements: false,
      httpMaxSockets: 50,
      httpKeepAliveTimeoutMs: 4000,
      serverKeepAliveTimeoutMs: 5000,
      upstreamUrl: undefined,
      shutdownGraceMs: 10_000,
      logLevel: "info",
      metricsScrapeIntervalMs: 5000,
    });
  });

  it("treats an empty string as unset so a blank value from Kubernetes means the default", () => {
    const env = loadProbeEnv({ ...required, PG_POOL_MAX: "", PROBE_PORT: " ", DIRECT_DATABASE_URL: "" });
    expect(env.pgPoolMax).toBe(20);
    expect(env.port).toBe(8080);
    expect(env.directDatabaseUrl).toBeUndefined();
  });

  it("keeps a configured 0 where 0 is allowed", () => {
    const env = loadProbeEnv({ ...required, PROBE_PORT: "0", PG_IDLE_TIMEOUT_MS: "0", SHUTDOWN_GRACE_MS: "0" });
    expect([env.port, env.pgIdleTimeoutMs, env.shutdownGraceMs]).toEqual([0, 0, 0]);
  });

  it("parses booleans in their usual spellings", () => {
    expect(loadProbeEnv({ ...required, PG_PREPARED_STATEMENTS: "true" }).pgPreparedStatements).toBe(true);
    expect(loadProbeEnv({ ...required, PG_PREPARED_STATEMENTS: "1" }).pgPreparedStatements).toBe(true);
    expect(loadProbeEnv({ ...required, PG_PREPARED_STATEMENTS: "No" }).pgPreparedStatements).toBe(false);
  });

  it("lists every bad variable in one error", () => {
    const err = issuesOf({ PG_POOL_MAX: "0", HTTP_MAX_SOCKETS: "many", LOG_LEVEL: "loud", PG_PREPARED_STATEMENTS: "maybe", PROBE_PORT: "70000" });
    expect(err.issues.map((i) => i.variable).sort()).toEqual(
      ["DATABASE_URL", "HTTP_MAX_SOCKETS", "LOG_LEVEL", "PG_POOL_MAX", "PG_PREPARED_STATEMENTS", "PROBE_PORT", "REDIS_URL"].sort(),
    );
    expect(err.message).toContain('PG_POOL_MAX: must be an integer from 1 to 10000 (got "0")');
    expect(err.message).toContain("REDIS_URL: is required");
  });

  it("rejects a URL of the wrong scheme and shows it with the password masked", () => {
    const err = issuesOf({ ...required, DATABASE_URL: "mysql://app:s3cretPw@db/app" });
    expect(err.message).toContain("DATABASE_URL: must be a postgres:// or postgresql:// URL");
    expect(err.message).toContain("mysql://app:***@db/app");
    expect(err.message).not.toContain("s3cretPw");
  });

  it("never echoes a secret variable that is not even a URL", () => {
    const err = issuesOf({ ...required, REDIS_URL: "r3disPw-only" });
    expect(err.message).toContain("REDIS_URL");
    expect(err.message).not.toContain("r3disPw-only");
  });

  it("requires SERVER_KEEPALIVE_TIMEOUT_MS to exceed HTTP_KEEPALIVE_TIMEOUT_MS", () => {
    const err = issuesOf({ ...required, HTTP_KEEPALIVE_TIMEOUT_MS: "5000", SERVER_KEEPALIVE_TIMEOUT_MS: "5000" });
    expect(err.issues).toEqual([
      {
        variable: "SERVER_KEEPALIVE_TIMEOUT_MS",
        message:
          "must be greater than HTTP_KEEPALIVE_TIMEOUT_MS (5000); raise it or lower HTTP_KEEPALIVE_TIMEOUT_MS (SERVER_KEEPALIVE_TIMEOUT_MS is 5000)",
      },
    ]);
  });

  it("checks the keep-alive order even when other variables are bad", () => {
    const err = issuesOf({ HTTP_KEEPALIVE_TIMEOUT_MS: "9000" });
    expect(err.issues.map((i) => i.variable)).toContain("SERVER_KEEPALIVE_TIMEOUT_MS");
  });

  it("reads every variable into one field only: no two fields share a name", () => {
    expect(new Set(PROBE_ENV_VARS).size).toBe(PROBE_ENV_VARS.length);
  });

  it("applies exactly the exported defaults: leaving a variable unset equals writing its default", () => {
    expect(loadProbeEnv({ ...required, ...PROBE_ENV_DEFAULTS })).toEqual(loadProbeEnv(required));
  });
});
