import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { checkStackConfig, ConfigError, connectionBudget, DEFAULT_MAX_PREPARED_STATEMENTS, formatProblem, parseStackConfig, PGBOUNCER_ROLLOUT_EXTRA_PODS, type ParseOptions } from "../../infra/config/index.ts";
import { loadStackFile, rawFromStackYaml } from "../../infra/config/file.ts";
import { derivedDefaultPoolSize, derivedMinPoolSize, derivedReservePoolSize } from "../../infra/config/pools.ts";
import { accepted, OPTS, problemsOf } from "./parse.ts";

const DEV_STACK_FILE = fileURLToPath(new URL("../../Pulumi.dev.yaml", import.meta.url));
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const IDENTIFIER_MESSAGE = "expected a PostgreSQL identifier: lower-case letters, digits and _, starting with a letter or _, at most 63 characters";
const DURATION_MESSAGE = 'expected a number with a unit: "500ms", "30s", "10m", "1h", "0s"';
const SIZE_MESSAGE = 'expected a whole number with a unit: "512kB", "4MB", "256Mi", "1Gi"';
const UNKNOWN_KEY_MESSAGE = "unknown key: check its spelling against the config reference in docs/config.md.";

/** The one problem of a rejected config, as the user reads it. */
function problemOf(raw: unknown, opts: ParseOptions = OPTS): string {
  const problems = problemsOf(raw, opts).map(formatProblem);
  expect(problems).toHaveLength(1);
  return problems[0]!;
}

describe("the dev stack file", () => {
  const dev = loadStackFile(DEV_STACK_FILE);

  test("is named after its file", () => {
    expect(dev.stack).toBe("dev");
  });

  test("derives its pool sizes from its postgres.cpu and pgbouncer.replicas", () => {
    const pool = derivedDefaultPoolSize(dev.postgres.cpu, dev.pgbouncer.replicas);
    expect(dev.pgbouncer).toMatchObject({ replicas: 2, poolMode: "transaction", maxClientConn: 1000, defaultPoolSize: pool, minPoolSize: derivedMinPoolSize(pool), reservePoolSize: derivedReservePoolSize(pool) });
    expect(dev.derivedPoolSizes).toEqual(["defaultPoolSize", "minPoolSize", "reservePoolSize"]);
  });

  test("reads durations as milliseconds", () => {
    expect(dev.postgres.statementTimeout).toBe(30_000);
    expect(dev.postgres.lockTimeout).toBe(10_000);
    expect(dev.pgbouncer.queryTimeout).toBe(60_000);
    expect(dev.pgbouncer.serverLifetime).toBe(3_600_000);
    expect(dev.pgbouncer.serverIdleTimeout).toBe(600_000);
    expect(dev.probe.httpKeepAliveTimeout).toBe(4000);
  });

  test("reads sizes as bytes", () => {
    expect(dev.postgres.memory).toBe(GiB);
    expect(dev.postgres.storage).toBe(2 * GiB);
    expect(dev.postgres.workMem).toBe(4 * MiB);
    expect(dev.redis.memory).toBe(256 * MiB);
  });

  test("derives shared_buffers as 25% and effective_cache_size as 75% of the memory", () => {
    expect(dev.postgres.sharedBuffers).toBe(256 * MiB);
    expect(dev.postgres.effectiveCacheSize).toBe(768 * MiB);
  });

  test("derives Redis maxmemory as 75% of the Redis memory", () => {
    expect(dev.redis.maxMemory).toBe(192 * MiB);
  });

  test("keeps a configured 0s as 0 where the default is not 0", () => {
    const cfg = parseStackConfig({ postgres: { statementTimeout: "0s" }, pgbouncer: { queryTimeout: "0s" } }, OPTS);
    expect([cfg.postgres.statementTimeout, cfg.pgbouncer.queryTimeout]).toEqual([0, 0]);
  });

  test("turns max_prepared_statements on for PgBouncer 1.24", () => {
    expect(dev.pgbouncer.maxPreparedStatements).toBe(200);
  });

  test("takes the stack name from the options when given", () => {
    expect(loadStackFile(DEV_STACK_FILE, { stack: "other" }).stack).toBe("other");
  });
});

describe("defaults", () => {
  test("an empty config gets every default", () => {
    const cfg = accepted({});
    expect(cfg.namespace).toBe("pooling");
    expect(cfg.postgres).toMatchObject({ version: "17", port: 5432, maxConnections: 200, superuserReservedConnections: 3, headroomConnections: 10, database: "app", user: "app", memory: GiB, workMem: 4 * MiB, maintenanceWorkMem: 64 * MiB, statementTimeout: 30_000 });
    const pool = derivedDefaultPoolSize("1", 2);
    expect(cfg.pgbouncer).toMatchObject({ version: "1.24", port: 6432, poolMode: "transaction", defaultPoolSize: pool, reservePoolSize: derivedReservePoolSize(pool), queryTimeout: 60_000, queryWaitTimeout: 120_000, clientIdleTimeout: 0, logConnections: false, adminUser: "pgbouncer_admin", statsUser: "pgbouncer_stats" });
    expect(cfg.redis).toMatchObject({ version: "7.4", port: 6379, maxMemoryPolicy: "noeviction", maxClients: 1000, timeout: 300_000, appendOnly: true, maxMemory: 192 * MiB });
    expect(cfg.probe).toMatchObject({ replicas: 2, port: 8080, postgresPoolMax: 20, httpKeepAliveTimeout: 4000, serverKeepAliveTimeout: 5000, shutdownGrace: 10_000 });
  });

  test("an undefined or null config is the same as an empty one", () => {
    expect(accepted(undefined)).toEqual(accepted({}));
    expect(accepted(null)).toEqual(accepted({}));
  });

  test("a section given partly keeps the defaults of its other fields", () => {
    const cfg = accepted({ pgbouncer: { maxClientConn: 500 } });
    expect(cfg.pgbouncer.maxClientConn).toBe(500);
    expect(cfg.pgbouncer.poolMode).toBe("transaction");
  });

  test("the stack name comes from the options", () => {
    expect(accepted({}, { stack: "prod" }).stack).toBe("prod");
  });
});

describe("types", () => {
  test("a number written as a string is refused", () => {
    expect(problemOf({ pgbouncer: { defaultPoolSize: "25" } })).toBe('pooling:pgbouncer.defaultPoolSize = "25": Invalid input: expected number, received string');
  });

  test("a fractional count is refused", () => {
    expect(problemOf({ pgbouncer: { defaultPoolSize: 25.5 } })).toBe("pooling:pgbouncer.defaultPoolSize = 25.5: Invalid input: expected int, received number");
  });

  test("a boolean written as a string is refused", () => {
    expect(problemOf({ pgbouncer: { logConnections: "yes" } })).toBe('pooling:pgbouncer.logConnections = "yes": Invalid input: expected boolean, received string');
  });

  test("a boolean is accepted", () => {
    expect(accepted({ pgbouncer: { logConnections: true } }).pgbouncer.logConnections).toBe(true);
  });

  test("a section that is not a mapping is refused", () => {
    expect(problemOf({ redis: "big" })).toBe('pooling:redis = "big": Invalid input: expected object, received string');
  });

  test("a config that is not a mapping is refused under the namespace key", () => {
    expect(problemOf("pooling")).toBe('pooling = "pooling": Invalid input: expected object, received string');
  });

  test("a version written as a YAML number is refused with a hint to quote it", () => {
    expect(problemOf({ pgbouncer: { version: 1.24 } })).toBe('pooling:pgbouncer.version = 1.24: expected a version string such as "1.24" (quote it in YAML)');
  });

  test("a version of the wrong shape is refused", () => {
    expect(problemOf({ postgres: { version: "17beta" } })).toBe('pooling:postgres.version = "17beta": expected a version such as "17"');
  });

  test("a CPU quantity may be written as a number", () => {
    expect(accepted({ postgres: { cpu: 2 } }).postgres.cpu).toBe("2");
  });

  test("a CPU quantity in millicores is accepted", () => {
    expect(accepted({ postgres: { cpu: "250m" } }).postgres.cpu).toBe("250m");
  });

  test("a CPU quantity with an unknown unit is refused", () => {
    expect(problemOf({ postgres: { cpu: "2 cores" } })).toBe('pooling:postgres.cpu = "2 cores": expected a CPU quantity such as "1", "0.5" or "500m"');
  });

  test("a namespace that is not a DNS label is refused", () => {
    expect(problemOf({ namespace: "Pooling_NS" })).toBe('pooling:namespace = "Pooling_NS": expected a DNS label: lower-case letters, digits and -, at most 63 characters');
  });

  test("a DNS-label namespace is accepted", () => {
    expect(accepted({ namespace: "pooling-dev-2" }).namespace).toBe("pooling-dev-2");
  });
});

describe("ranges", () => {
  test("a pool size below its minimum is refused", () => {
    expect(problemOf({ pgbouncer: { defaultPoolSize: 0, minPoolSize: 0 } })).toBe("pooling:pgbouncer.defaultPoolSize = 0: Too small: expected number to be >=1");
  });

  test("a pool size above its maximum is refused", () => {
    expect(problemsOf({ pgbouncer: { defaultPoolSize: 10_001 } }).map(formatProblem)).toEqual(["pooling:pgbouncer.defaultPoolSize = 10001: Too big: expected number to be <=10000"]);
  });

  test("maxConnections below 10 is refused", () => {
    expect(problemOf({ postgres: { maxConnections: 9 } })).toBe("pooling:postgres.maxConnections = 9: Too small: expected number to be >=10");
  });

  test("a port above 65535 is refused", () => {
    expect(problemOf({ redis: { port: 65_536 } })).toBe("pooling:redis.port = 65536: Too big: expected number to be <=65535");
  });

  test("the bounds themselves are accepted", () => {
    const cfg = accepted({ redis: { port: 65_535 }, pgbouncer: { port: 1 } });
    expect([cfg.redis.port, cfg.pgbouncer.port]).toEqual([65_535, 1]);
  });
});

describe("enums", () => {
  test("an unknown pool mode is refused with the allowed values", () => {
    expect(problemOf({ pgbouncer: { poolMode: "transactions" } })).toBe('pooling:pgbouncer.poolMode = "transactions": Invalid option: expected one of "session"|"transaction"|"statement"');
  });

  test.each(["session", "transaction", "statement"] as const)("pool mode %s is accepted", (mode) => {
    expect(accepted({ pgbouncer: { poolMode: mode } }).pgbouncer.poolMode).toBe(mode);
  });

  test("an unknown Redis eviction policy is refused", () => {
    expect(problemOf({ redis: { maxMemoryPolicy: "lru" } })).toContain('pooling:redis.maxMemoryPolicy = "lru": Invalid option: expected one of "noeviction"|"allkeys-lru"|');
  });
});

describe("units", () => {
  test("a duration written as a bare number is refused with the unit suggested", () => {
    expect(problemOf({ pgbouncer: { queryTimeout: 60 } })).toBe(`pooling:pgbouncer.queryTimeout = 60: ${DURATION_MESSAGE}, got 60 (60 has no unit: write "60s")`);
  });

  test("a duration written as a string without unit is refused", () => {
    expect(problemOf({ pgbouncer: { queryTimeout: "60" } })).toBe(`pooling:pgbouncer.queryTimeout = "60": ${DURATION_MESSAGE}, got "60"`);
  });

  test("a duration with an unknown unit is refused", () => {
    expect(problemOf({ postgres: { lockTimeout: "10sec" } })).toBe(`pooling:postgres.lockTimeout = "10sec": ${DURATION_MESSAGE}, got "10sec"`);
  });

  test("a negative duration is refused", () => {
    expect(problemOf({ postgres: { lockTimeout: "-1s" } })).toBe(`pooling:postgres.lockTimeout = "-1s": ${DURATION_MESSAGE}, got "-1s"`);
  });

  test("a duration in any supported unit is accepted", () => {
    const cfg = accepted({ pgbouncer: { queryTimeout: "1.5m", queryWaitTimeout: "2min", reservePoolTimeout: "2500ms" } });
    expect([cfg.pgbouncer.queryTimeout, cfg.pgbouncer.queryWaitTimeout, cfg.pgbouncer.reservePoolTimeout]).toEqual([90_000, 120_000, 2500]);
  });

  test("a fractional size is refused", () => {
    expect(problemOf({ postgres: { storage: "1.5Gi" } })).toBe(`pooling:postgres.storage = "1.5Gi": ${SIZE_MESSAGE}, got "1.5Gi"`);
  });

  test("a size in lower-case units is refused", () => {
    expect(problemOf({ postgres: { workMem: "4mb" } })).toBe(`pooling:postgres.workMem = "4mb": ${SIZE_MESSAGE}, got "4mb"`);
  });

  test("a size written as a bare number is refused", () => {
    expect(problemOf({ redis: { storage: 1024 } })).toBe(`pooling:redis.storage = 1024: ${SIZE_MESSAGE}, got 1024`);
  });

  test("an optional size written wrongly is refused", () => {
    expect(problemOf({ redis: { maxMemory: "lots" } })).toBe(`pooling:redis.maxMemory = "lots": ${SIZE_MESSAGE}, got "lots"`);
  });
});

describe("identifiers", () => {
  test.each([
    ["a newline", "app\nx"],
    ["a trailing newline", "app\n"],
    ["a carriage return", "app\r"],
    ["a double quote", 'app"'],
    ["a single quote", "app'"],
    ["an equals sign", "a=b"],
    ["a semicolon", "a;b"],
    ["a space", "a b"],
    ["upper case", "App"],
    ["a leading digit", "1app"],
    ["a dash", "my-app"],
    ["64 characters", "a".repeat(64)],
    ["an empty string", ""],
  ])("a database name with %s is refused", (_what, name) => {
    expect(problemOf({ postgres: { database: name } })).toBe(`pooling:postgres.database = ${JSON.stringify(name)}: ${IDENTIFIER_MESSAGE}`);
  });

  test.each([
    ["a newline", "app\nx"],
    ["a double quote", 'app"'],
    ["an equals sign", "a=b"],
    ["a semicolon", "a;b"],
    ["a space", "a b"],
    ["upper case", "App"],
  ])("a user name with %s is refused", (_what, name) => {
    expect(problemOf({ postgres: { user: name } })).toBe(`pooling:postgres.user = ${JSON.stringify(name)}: ${IDENTIFIER_MESSAGE}`);
  });

  test("an admin user name with a space is refused", () => {
    expect(problemOf({ pgbouncer: { adminUser: "pgbouncer admin" } })).toBe(`pooling:pgbouncer.adminUser = "pgbouncer admin": ${IDENTIFIER_MESSAGE}`);
  });

  test("lower-case letters, digits and underscores up to 63 characters are accepted", () => {
    const name = `_${"a1".repeat(31)}`;
    const cfg = accepted({ postgres: { database: name, user: "app_2" } });
    expect([cfg.postgres.database, cfg.postgres.user]).toEqual([name, "app_2"]);
  });
});

describe("unknown keys", () => {
  test("a misspelt field is reported with its full key and without its value, which may be a decrypted secret", () => {
    expect(problemOf({ pgbouncer: { defaultPoolSze: 30 } })).toBe(`pooling:pgbouncer.defaultPoolSze: ${UNKNOWN_KEY_MESSAGE}`);
    expect(problemOf({ postgres: { password: "s3cret-value" } })).not.toContain("s3cret-value");
  });

  test("a misspelt section is reported with its full key", () => {
    expect(problemOf({ pgbouncr: { defaultPoolSize: 30 } })).toBe(`pooling:pgbouncr: ${UNKNOWN_KEY_MESSAGE}`);
  });

  test("a misspelt field in a stack file is reported with its full key", () => {
    const raw = rawFromStackYaml("config:\n  pooling:redis:\n    maxClient: 10\n", "test");
    expect(problemOf(raw)).toBe(`pooling:redis.maxClient: ${UNKNOWN_KEY_MESSAGE}`);
  });

  test("every misspelt key is reported, not only the first", () => {
    expect(problemsOf({ probe: { replica: 1, portt: 1 } }).map((p) => p.key)).toEqual(["pooling:probe.replica", "pooling:probe.portt"]);
  });
});

describe("removed keys", () => {
  const REMOVED_REDIS_POOL_MAX =
    "this key was removed: it set nothing, because the probe always opens exactly one auto-pipelined Redis connection, which beat pools of 4 and 10 connections when measured (app-probe/README.md). Delete it from the stack file.";

  test("an old stack file that still sets probe.redisPoolMax is told the key was removed and why, with its value", () => {
    const raw = rawFromStackYaml("config:\n  pooling:probe:\n    replicas: 2\n    redisPoolMax: 10\n", "old");
    expect(problemOf(raw)).toBe(`pooling:probe.redisPoolMax = 10: ${REMOVED_REDIS_POOL_MAX}`);
  });

  test("a removed key does not hide the other problems of the stack file", () => {
    expect(problemsOf({ probe: { redisPoolMax: 10, replicas: 3 }, redis: { maxClients: 2 } }).map((p) => p.key)).toEqual([
      "pooling:probe.redisPoolMax",
      "pooling:redis.maxClients",
    ]);
  });

  test("a key named like an Object method is an unknown key, not a removed one", () => {
    expect(problemOf({ probe: { toString: 1 } })).toBe(`pooling:probe.toString: ${UNKNOWN_KEY_MESSAGE}`);
  });

  test("loading an old stack file throws a ConfigError naming the removed key", () => {
    expect(() => parseStackConfig({ probe: { redisPoolMax: 10 } }, OPTS)).toThrow(new ConfigError("test", [{ key: "pooling:probe.redisPoolMax", value: 10, message: REMOVED_REDIS_POOL_MAX }]));
  });
});

describe("the connection budget", () => {
  // workMem 1MB keeps the memory rule out of these cases.
  const budget = (pgbouncer: object, postgres: object = {}) => ({ postgres: { workMem: "1MB", ...postgres }, pgbouncer });
  const budgetKeys = (raw: unknown) => {
    const result = checkStackConfig(raw, OPTS);
    return result.ok ? [] : result.problems.map((p) => p.key).filter((k) => k === "pooling:pgbouncer.defaultPoolSize" || k === "pooling:postgres.maxConnections");
  };

  test("pools that need more server connections than PostgreSQL can give are refused with the arithmetic and both fixes", () => {
    expect(problemOf(budget({ replicas: 4, defaultPoolSize: 50, reservePoolSize: 5 }))).toBe(
      "pooling:pgbouncer.defaultPoolSize = 50: the PgBouncer pools need more server connections than PostgreSQL can give:" +
        " (replicas 4 + 1 draining during a rollout) × (defaultPoolSize 50 + reservePoolSize 5) = 275 > maxConnections 200 − superuserReservedConnections 3" +
        " − headroomConnections 10 = 187. Either lower it to at most 32, or raise pooling:postgres.maxConnections to at least 288.",
    );
  });

  test("pools that fit at rest but not with the pod a rollout drains are refused", () => {
    // 2 × (55 + 5) = 120 fits 187; (2 + 1) × 60 = 180 fits too, but (3 + 1) × 60 = 240 does not.
    accepted(budget({ replicas: 2, defaultPoolSize: 55, reservePoolSize: 5 }));
    expect(problemOf(budget({ replicas: 3, defaultPoolSize: 55, reservePoolSize: 5 }))).toBe(
      "pooling:pgbouncer.defaultPoolSize = 55: the PgBouncer pools need more server connections than PostgreSQL can give:" +
        " (replicas 3 + 1 draining during a rollout) × (defaultPoolSize 55 + reservePoolSize 5) = 240 > maxConnections 200 − superuserReservedConnections 3" +
        " − headroomConnections 10 = 187. Either lower it to at most 41, or raise pooling:postgres.maxConnections to at least 253.",
    );
  });

  test("the budget counts the draining pod's connections and keeps the at-rest figure beside them", () => {
    const cfg = accepted(budget({ replicas: 3, defaultPoolSize: 40, reservePoolSize: 5 }));
    expect(PGBOUNCER_ROLLOUT_EXTRA_PODS).toBe(1);
    expect(connectionBudget(cfg)).toEqual({
      perReplica: 45,
      podsDuringRollout: 4,
      atRestServerConnections: 135,
      pgbouncerServerConnections: 180,
      usable: 187,
      spare: 7,
    });
  });

  test("the suggested largest pool size fits the budget, and one more does not", () => {
    expect(budgetKeys(budget({ replicas: 4, defaultPoolSize: 32, reservePoolSize: 5 }))).toEqual([]);
    expect(budgetKeys(budget({ replicas: 4, defaultPoolSize: 33, reservePoolSize: 5 }))).toEqual(["pooling:pgbouncer.defaultPoolSize"]);
  });

  test("the suggested smallest maxConnections fits the budget, and one less does not", () => {
    expect(budgetKeys(budget({ replicas: 4, defaultPoolSize: 50, reservePoolSize: 5 }, { maxConnections: 288 }))).toEqual([]);
    expect(budgetKeys(budget({ replicas: 4, defaultPoolSize: 50, reservePoolSize: 5 }, { maxConnections: 287 }))).toEqual(["pooling:pgbouncer.defaultPoolSize"]);
  });

  test("pools that use exactly every usable connection during a rollout are accepted", () => {
    // (2 + 1) × (58 + 5) = 189 = 200 − 3 − 8.
    accepted(budget({ replicas: 2, defaultPoolSize: 58, reservePoolSize: 5 }, { headroomConnections: 8 }));
    expect(budgetKeys(budget({ replicas: 2, defaultPoolSize: 58, reservePoolSize: 5 }, { headroomConnections: 9 }))).toEqual(["pooling:pgbouncer.defaultPoolSize"]);
  });

  test("when no pool size can fit, the message gives the largest replicas and reserve pool that do", () => {
    expect(problemOf(budget({ replicas: 50, defaultPoolSize: 1, minPoolSize: 0, reservePoolSize: 5 }))).toBe(
      "pooling:pgbouncer.defaultPoolSize = 1: the PgBouncer pools need more server connections than PostgreSQL can give:" +
        " (replicas 50 + 1 draining during a rollout) × (defaultPoolSize 1 + reservePoolSize 5) = 306 > maxConnections 200 − superuserReservedConnections 3" +
        " − headroomConnections 10 = 187. Either lower pooling:pgbouncer.replicas to at most 30, lower pooling:pgbouncer.reservePoolSize to at most 2," +
        " or raise pooling:postgres.maxConnections to at least 319.",
    );
  });

  test("the suggested replicas and reserve pool fit the budget, and one more does not", () => {
    const pools = { defaultPoolSize: 1, minPoolSize: 0 };
    expect(budgetKeys(budget({ ...pools, replicas: 30, reservePoolSize: 5 }))).toEqual([]);
    expect(budgetKeys(budget({ ...pools, replicas: 31, reservePoolSize: 5 }))).toEqual(["pooling:pgbouncer.defaultPoolSize"]);
    expect(budgetKeys(budget({ ...pools, replicas: 50, reservePoolSize: 2 }))).toEqual([]);
    expect(budgetKeys(budget({ ...pools, replicas: 50, reservePoolSize: 3 }))).toEqual(["pooling:pgbouncer.defaultPoolSize"]);
  });

  test("when only more connections can help, the message says just that", () => {
    expect(problemOf({ postgres: { maxConnections: 10, superuserReservedConnections: 5, headroomConnections: 4 }, pgbouncer: { replicas: 1, defaultPoolSize: 1, minPoolSize: 0, reservePoolSize: 0 } })).toBe(
      "pooling:pgbouncer.defaultPoolSize = 1: the PgBouncer pools need more server connections than PostgreSQL can give:" +
        " (replicas 1 + 1 draining during a rollout) × (defaultPoolSize 1 + reservePoolSize 0) = 2 > maxConnections 10 − superuserReservedConnections 5" +
        " − headroomConnections 4 = 1. Raise pooling:postgres.maxConnections to at least 11.",
    );
  });

  test("reserved connections that leave nothing usable are refused with the arithmetic", () => {
    expect(problemOf({ postgres: { maxConnections: 10, superuserReservedConnections: 5, headroomConnections: 5 } })).toBe(
      "pooling:postgres.maxConnections = 10: nothing is left for PgBouncer: maxConnections 10 − superuserReservedConnections 5 − headroomConnections 5 = 0." +
        " Raise pooling:postgres.maxConnections or lower the reserved connections.",
    );
  });

  test("two usable connections are enough for a single one-connection pool and the pod that replaces it", () => {
    accepted({
      postgres: { maxConnections: 10, superuserReservedConnections: 5, headroomConnections: 3 },
      pgbouncer: { replicas: 1, defaultPoolSize: 1, minPoolSize: 0, reservePoolSize: 0 },
    });
  });
});

describe("the dev stack's connection budget", () => {
  const devRaw = () => rawFromStackYaml(readFileSync(DEV_STACK_FILE, "utf8"), "dev") as { pgbouncer: Record<string, unknown> };

  test("fits during a rollout: (2 + 1) × (derived pool + derived reserve) ≤ 200 − 3 − 10 = 187", () => {
    const pool = derivedDefaultPoolSize("1", 2);
    const perReplica = pool + derivedReservePoolSize(pool);
    expect(connectionBudget(loadStackFile(DEV_STACK_FILE))).toEqual({
      perReplica,
      podsDuringRollout: 3,
      atRestServerConnections: 2 * perReplica,
      pgbouncerServerConnections: 3 * perReplica,
      usable: 187,
      spare: 187 - 3 * perReplica,
    });
  });

  test("README's example errors are what the dev stack with defaultPoolSize 120 prints", () => {
    const raw = devRaw();
    raw.pgbouncer.defaultPoolSize = 120;
    const error = (() => {
      try {
        parseStackConfig(raw, { stack: "dev" });
      } catch (e) {
        return e;
      }
      return expect.fail("expected the dev stack with defaultPoolSize 120 to be refused");
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");
    const example = /```\n(Stack "dev" has \d+ config problems?;[^`]*)```/.exec(readme)?.[1];
    // README wraps the message to fit the page; only the line breaks and their indentation differ.
    const unwrapped = (text: string) => text.trim().replace(/\n {4}/g, " ");
    expect(example && unwrapped(example)).toBe((error as ConfigError).message);
  });

  test("the value README's example suggests fits, and one more does not", () => {
    const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");
    const suggested = Number(/defaultPoolSize = 120: [^`]*?lower it to at most (\d+)/.exec(readme)?.[1]);
    const raw = devRaw();
    raw.pgbouncer.defaultPoolSize = suggested;
    accepted(raw, { stack: "dev" });
    raw.pgbouncer.defaultPoolSize = suggested + 1;
    expect(problemsOf(raw, { stack: "dev" }).map((p) => p.key)).toEqual(["pooling:pgbouncer.defaultPoolSize"]);
  });
});

describe("pool relations", () => {
  test("minPoolSize above defaultPoolSize is refused", () => {
    expect(problemOf({ pgbouncer: { defaultPoolSize: 25, minPoolSize: 26 } })).toBe(
      "pooling:pgbouncer.minPoolSize = 26: minPoolSize 26 > defaultPoolSize 25: PgBouncer would keep more idle connections than the pool may hold. Set it to at most 25.",
    );
  });

  test("minPoolSize equal to defaultPoolSize is accepted", () => {
    expect(accepted({ pgbouncer: { defaultPoolSize: 25, minPoolSize: 25 } }).pgbouncer.minPoolSize).toBe(25);
  });

  test("probe pools that open more connections than one PgBouncer accepts are refused", () => {
    expect(problemOf({ probe: { replicas: 3, postgresPoolMax: 400 } })).toBe(
      "pooling:probe.postgresPoolMax = 400: the probe pools can open more client connections than one PgBouncer accepts:" +
        " replicas 3 × postgresPoolMax 400 = 1200 > pooling:pgbouncer.maxClientConn 1000." +
        " Lower it to at most 333 or raise pooling:pgbouncer.maxClientConn to at least 1200.",
    );
  });

  test("probe pools at the suggested size are accepted", () => {
    accepted({ probe: { replicas: 3, postgresPoolMax: 333 } });
  });

  test("more probe pods than Redis maxclients are refused, one connection each", () => {
    expect(problemOf({ probe: { replicas: 3 }, redis: { maxClients: 2 } })).toBe(
      "pooling:redis.maxClients = 2: Redis would refuse some probe pods: each of the pooling:probe.replicas 3 pods opens one Redis connection, more than maxClients 2." +
        " Raise it to at least 3 or lower pooling:probe.replicas to at most 2.",
    );
  });

  test("as many probe pods as Redis maxclients are accepted", () => {
    accepted({ probe: { replicas: 3 }, redis: { maxClients: 3 } });
  });
});

describe("timeout ordering", () => {
  test("a statement timeout not below the PgBouncer query timeout is refused", () => {
    expect(problemOf({ postgres: { statementTimeout: "60s" } })).toBe(
      'pooling:postgres.statementTimeout = "1m": postgres.statementTimeout 1m must be below pooling:pgbouncer.queryTimeout 1m:' +
        " otherwise PgBouncer drops the server connection before PostgreSQL cancels the statement cleanly.",
    );
  });

  test("a statement timeout below the PgBouncer query timeout is accepted", () => {
    accepted({ postgres: { statementTimeout: "59s" } });
  });

  test("a statement timeout of 0s (never) is not ordered against the query timeout", () => {
    accepted({ postgres: { statementTimeout: "0s" } });
  });

  test("a query timeout of 0s (never) is not ordered against the statement timeout", () => {
    accepted({ postgres: { statementTimeout: "10m" }, pgbouncer: { queryTimeout: "0s" } });
  });

  test("a lock timeout not below the statement timeout is refused", () => {
    expect(problemOf({ postgres: { lockTimeout: "30s" } })).toBe(
      'pooling:postgres.lockTimeout = "30s": postgres.lockTimeout 30s must be below pooling:postgres.statementTimeout 30s:' +
        " otherwise the statement timeout always fires first and lock waits are never reported as such.",
    );
  });

  test("a lock timeout of 0s (never) is accepted", () => {
    expect(accepted({ postgres: { lockTimeout: "0s" } }).postgres.lockTimeout).toBe(0);
  });

  test("a reserve pool timeout not below the query wait timeout is refused", () => {
    expect(problemOf({ pgbouncer: { reservePoolTimeout: "120s" } })).toBe(
      'pooling:pgbouncer.reservePoolTimeout = "2m": pgbouncer.reservePoolTimeout 2m must be below pooling:pgbouncer.queryWaitTimeout 2m:' +
        " otherwise waiting clients are disconnected before the reserve pool can help them.",
    );
  });

  test("a server connect timeout not below the query wait timeout is refused", () => {
    expect(problemOf({ pgbouncer: { queryWaitTimeout: "15s" } })).toBe(
      'pooling:pgbouncer.serverConnectTimeout = "15s": pgbouncer.serverConnectTimeout 15s must be below pooling:pgbouncer.queryWaitTimeout 15s:' +
        " otherwise a client is disconnected while PgBouncer is still connecting to PostgreSQL for it.",
    );
  });

  test("reserve pool and connect timeouts below the query wait timeout are accepted", () => {
    accepted({ pgbouncer: { queryWaitTimeout: "16s" } });
  });

  test("a query wait timeout of 0s (never) is not ordered against the reserve pool or connect timeouts", () => {
    accepted({ pgbouncer: { queryWaitTimeout: "0s", reservePoolTimeout: "1h", serverConnectTimeout: "1h" } });
  });

  test("an HTTP keep-alive timeout not below the server's is refused", () => {
    expect(problemOf({ probe: { httpKeepAliveTimeout: "5s" } })).toBe(
      'pooling:probe.httpKeepAliveTimeout = "5s": probe.httpKeepAliveTimeout 5s must be below pooling:probe.serverKeepAliveTimeout 5s:' +
        " a client must close an idle socket before the server does, or a request races the server's close and fails.",
    );
  });

  test("an HTTP keep-alive timeout below the server's is accepted", () => {
    accepted({ probe: { httpKeepAliveTimeout: "4999ms" } });
  });

  test("a client idle timeout not above the probe's pool idle timeout is refused", () => {
    expect(problemOf({ pgbouncer: { clientIdleTimeout: "10s" } })).toBe(
      'pooling:pgbouncer.clientIdleTimeout = "10s": PgBouncer would close the probe\'s idle pooled connections (clientIdleTimeout 10s) before the pool does' +
        " (pooling:probe.postgresIdleTimeout 10s), and the next query on them fails. Set pooling:pgbouncer.clientIdleTimeout to 0s or above 10s.",
    );
  });

  test("a client idle timeout is refused when the probe's pool never closes idle connections", () => {
    expect(problemOf({ pgbouncer: { clientIdleTimeout: "10m" }, probe: { postgresIdleTimeout: "0s" } })).toBe(
      'pooling:pgbouncer.clientIdleTimeout = "10m": PgBouncer would close the probe\'s idle pooled connections (clientIdleTimeout 10m) before the pool does' +
        " (pooling:probe.postgresIdleTimeout 0s), and the next query on them fails. Set pooling:pgbouncer.clientIdleTimeout to 0s or above 0s.",
    );
  });

  test("a client idle timeout above the probe's pool idle timeout is accepted", () => {
    expect(accepted({ pgbouncer: { clientIdleTimeout: "11s" } }).pgbouncer.clientIdleTimeout).toBe(11_000);
  });
});

describe("memory", () => {
  test("shared_buffers above 40% of the memory is refused with the largest allowed value", () => {
    expect(problemOf({ postgres: { sharedBuffers: "512Mi" } })).toBe(
      'pooling:postgres.sharedBuffers = "512Mi": sharedBuffers 512Mi is above 40% of pooling:postgres.memory 1Gi;' +
        " the rest is needed for connections and the page cache. Set it to at most 419430Ki.",
    );
  });

  test("shared_buffers at the suggested largest value is accepted", () => {
    expect(accepted({ postgres: { sharedBuffers: "419430Ki" } }).postgres.sharedBuffers).toBe(419_430 * 1024);
  });

  test("effective_cache_size above the memory is refused", () => {
    expect(problemOf({ postgres: { effectiveCacheSize: "2Gi" } })).toBe(
      'pooling:postgres.effectiveCacheSize = "2Gi": effectiveCacheSize 2Gi is above pooling:postgres.memory 1Gi: the planner would count on cache the container does not have.',
    );
  });

  test("effective_cache_size equal to the memory is accepted", () => {
    expect(accepted({ postgres: { effectiveCacheSize: "1Gi" } }).postgres.effectiveCacheSize).toBe(GiB);
  });

  test("shared_buffers, maintenance and per-connection work memory above the limit are refused with the sum", () => {
    expect(problemOf({ postgres: { workMem: "16MB" }, pgbouncer: { defaultPoolSize: 25, reservePoolSize: 5 } })).toBe(
      'pooling:postgres.memory = "1Gi": PostgreSQL needs more memory than its limit: sharedBuffers 256Mi + maintenanceWorkMem 64Mi' +
        " + 70 connections × workMem 16Mi = 1440Mi > memory 1Gi. Raise pooling:postgres.memory or lower pooling:postgres.workMem.",
    );
  });

  test("memory needs that fit the limit are accepted", () => {
    accepted({ postgres: { workMem: "10MB" }, pgbouncer: { defaultPoolSize: 25, reservePoolSize: 5 } });
  });

  test("PgBouncer memory that cannot hold maxClientConn TLS clients is refused with the sum and both fixes", () => {
    // The fault run's connection hold asks for 10,000 clients; the default 128Mi holds about 3,500 over TLS.
    expect(problemOf({ pgbouncer: { maxClientConn: 10_000 } })).toBe(
      'pooling:pgbouncer.memory = "128Mi": PgBouncer could be killed for memory with all its clients connected: 16Mi + pooling:pgbouncer.maxClientConn 10000' +
        " × 32Ki per client over TLS = about 329Mi > memory 128Mi. Raise it to at least 329Mi or lower pooling:pgbouncer.maxClientConn to at most 3584.",
    );
  });

  test("without TLS a PgBouncer client needs less, and the same memory holds more of them", () => {
    accepted({ pgbouncer: { maxClientConn: 10_000, memory: "329Mi" } });
    accepted({ pgbouncer: { maxClientConn: 14_000 }, tls: { enabled: false } });
    expect(problemOf({ pgbouncer: { maxClientConn: 15_000 }, tls: { enabled: false } })).toContain("lower pooling:pgbouncer.maxClientConn to at most 14336.");
  });

  test("Redis maxmemory above the Redis memory is refused", () => {
    expect(problemOf({ redis: { maxMemory: "300Mi" } })).toBe(
      'pooling:redis.maxMemory = "300Mi": maxMemory 300Mi is above pooling:redis.memory 256Mi: the container would be killed before Redis evicts or refuses writes.',
    );
  });

  test("Redis maxmemory equal to the Redis memory is accepted", () => {
    expect(accepted({ redis: { maxMemory: "256Mi" } }).redis.maxMemory).toBe(256 * MiB);
  });
});

describe("version gates", () => {
  test("max_prepared_statements is refused for PgBouncer 1.18", () => {
    expect(problemOf({ pgbouncer: { version: "1.18", maxPreparedStatements: 100 } })).toBe(
      "pooling:pgbouncer.maxPreparedStatements = 100: max_prepared_statements needs PgBouncer 1.21 or newer, but pooling:pgbouncer.version is 1.18. Remove the key or raise the version.",
    );
  });

  test("max_prepared_statements is accepted for PgBouncer 1.21 and newer", () => {
    expect(accepted({ pgbouncer: { version: "1.22", maxPreparedStatements: 100 } }).pgbouncer.maxPreparedStatements).toBe(100);
    expect(accepted({ pgbouncer: { version: "1.21", maxPreparedStatements: 100 } }, { stack: "test", versions: { pgbouncer: "1.21" } }).pgbouncer.maxPreparedStatements).toBe(100);
  });

  test("max_prepared_statements defaults to 200 for PgBouncer 1.21 and newer", () => {
    expect(DEFAULT_MAX_PREPARED_STATEMENTS).toBe(200);
    expect(accepted({ pgbouncer: { version: "1.22" } }).pgbouncer.maxPreparedStatements).toBe(200);
    expect(accepted({}, { stack: "test", versions: { pgbouncer: "1.21" } }).pgbouncer.maxPreparedStatements).toBe(200);
    expect(accepted({ pgbouncer: { version: "1.24.1" } }).pgbouncer.maxPreparedStatements).toBe(200);
  });

  test("max_prepared_statements stays unset below PgBouncer 1.21", () => {
    expect(accepted({ pgbouncer: { version: "1.18" } }).pgbouncer.maxPreparedStatements).toBeUndefined();
    expect(accepted({ pgbouncer: { version: "1.19.1" } }).pgbouncer.maxPreparedStatements).toBeUndefined();
    expect(accepted({}, { stack: "test", versions: { pgbouncer: "1.20.9" } }).pgbouncer.maxPreparedStatements).toBeUndefined();
  });

  test("versions compare numerically, not as text", () => {
    expect(accepted({}, { stack: "test", versions: { pgbouncer: "1.9" } }).pgbouncer.maxPreparedStatements).toBeUndefined();
  });

  test("a version override replaces the stack's version and its gates follow it", () => {
    expect(problemOf({ pgbouncer: { version: "1.24", maxPreparedStatements: 100 } }, { stack: "test", versions: { pgbouncer: "1.18" } })).toBe(
      "pooling:pgbouncer.maxPreparedStatements = 100: max_prepared_statements needs PgBouncer 1.21 or newer, but pooling:pgbouncer.version is 1.18. Remove the key or raise the version.",
    );
  });

  test("a version override replaces the stack's version and its defaults follow it", () => {
    const cfg = accepted({ pgbouncer: { version: "1.18" }, postgres: { version: "17" } }, { stack: "test", versions: { pgbouncer: "1.24", postgres: "16" } });
    expect(cfg.pgbouncer.version).toBe("1.24");
    expect(cfg.pgbouncer.maxPreparedStatements).toBe(200);
    expect(cfg.postgres.version).toBe("16");
  });

  test("a version override applies when the stack file has no section", () => {
    expect(accepted({}, { stack: "test", versions: { pgbouncer: "1.18" } }).pgbouncer.version).toBe("1.18");
  });

  test("a version override keeps the section's other fields", () => {
    expect(accepted({ pgbouncer: { defaultPoolSize: 30 } }, { stack: "test", versions: { pgbouncer: "1.18" } }).pgbouncer.defaultPoolSize).toBe(30);
  });
});

describe("several problems", () => {
  const raw = {
    postgres: { lockTimeout: "30s", database: "App" },
    pgbouncer: { poolMode: "sessions", defaultPoolSze: 1 },
  };

  test("schema problems are all reported at once, with the cross-field problems of the fields that parsed", () => {
    expect(problemsOf(raw).map((p) => p.key)).toEqual([
      "pooling:postgres.database",
      "pooling:pgbouncer.poolMode",
      "pooling:pgbouncer.defaultPoolSze",
      "pooling:postgres.lockTimeout",
    ]);
  });

  test("a pool relation is reported beside type errors in the same section", () => {
    expect(problemsOf({ pgbouncer: { defaultPoolSize: 25, minPoolSize: 30, poolMode: "bogus", memory: "lots" } }).map(formatProblem)).toEqual([
      'pooling:pgbouncer.memory = "lots": expected a whole number with a unit: "512kB", "4MB", "256Mi", "1Gi", got "lots"',
      'pooling:pgbouncer.poolMode = "bogus": Invalid option: expected one of "session"|"transaction"|"statement"',
      "pooling:pgbouncer.minPoolSize = 30: minPoolSize 30 > defaultPoolSize 25: PgBouncer would keep more idle connections than the pool may hold. Set it to at most 25.",
    ]);
  });

  test("a rule whose input did not parse is not run, and the other rules still are", () => {
    const keys = problemsOf({ pgbouncer: { defaultPoolSize: "many", minPoolSize: 30 }, postgres: { lockTimeout: "30s" } }).map((p) => p.key);
    expect(keys).toEqual(["pooling:pgbouncer.defaultPoolSize", "pooling:postgres.lockTimeout"]);
  });

  test("a section that is not a mapping skips only the rules that read it", () => {
    const keys = problemsOf({ pgbouncer: 5, postgres: { lockTimeout: "30s", memory: "lots" }, probe: { httpKeepAliveTimeout: "6s" } }).map((p) => p.key);
    expect(keys).toEqual(["pooling:postgres.memory", "pooling:pgbouncer", "pooling:postgres.lockTimeout", "pooling:probe.httpKeepAliveTimeout"]);
  });

  test("an unknown key does not hide the cross-field problems of its section", () => {
    const keys = problemsOf({ probe: { replicas: 3, postgresPoolMax: 400, shutdownGrase: "5s" } }).map((p) => p.key);
    expect(keys).toEqual(["pooling:probe.shutdownGrase", "pooling:probe.postgresPoolMax"]);
  });

  test("an unpinned version is reported beside type errors elsewhere", () => {
    const keys = problemsOf({ pgbouncer: { version: "1.99", poolMode: "bogus" }, redis: { memory: "lots" } }).map((p) => p.key);
    expect(keys).toEqual(["pooling:pgbouncer.poolMode", "pooling:redis.memory", "pooling:pgbouncer.version"]);
  });

  test("cross-field problems are all reported at once", () => {
    const keys = problemsOf({ postgres: { lockTimeout: "30s", workMem: "16MB" }, pgbouncer: { defaultPoolSize: 25, minPoolSize: 26, reservePoolSize: 5 } }).map((p) => p.key);
    expect(keys).toEqual(["pooling:pgbouncer.minPoolSize", "pooling:postgres.lockTimeout", "pooling:postgres.memory"]);
  });
});

describe("ConfigError", () => {
  const raw = { pgbouncer: { minPoolSize: 26, queryTimeout: 60 } };

  test("is thrown by parseStackConfig for an invalid config", () => {
    expect(() => parseStackConfig(raw, OPTS)).toThrow(ConfigError);
  });

  test("its message names the stack, lists every problem and says nothing was rendered", () => {
    expect(() => parseStackConfig({ pgbouncer: { defaultPoolSize: 0, queryTimeout: 60 } }, OPTS)).toThrow(
      'Stack "test" has 2 config problems; nothing was rendered:\n' +
        "  - pooling:pgbouncer.defaultPoolSize = 0: Too small: expected number to be >=1\n" +
        `  - pooling:pgbouncer.queryTimeout = 60: ${DURATION_MESSAGE}, got 60 (60 has no unit: write "60s")`,
    );
  });

  test("its message uses the singular for one problem", () => {
    expect(() => parseStackConfig({ pgbouncer: { minPoolSize: 26 } }, OPTS)).toThrow(/^Stack "test" has 1 config problem; nothing was rendered:\n {2}- pooling:pgbouncer\.minPoolSize = 26: /);
  });

  test("carries a stable code, the stack name and the problems", () => {
    const err = (() => {
      try {
        parseStackConfig({ pgbouncer: { minPoolSize: 26 } }, OPTS);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ name: "ConfigError", code: "POOLING_INVALID_CONFIG", stackName: "test" });
    expect((err as ConfigError).problems.map((p) => p.key)).toEqual(["pooling:pgbouncer.minPoolSize"]);
  });

  test("a problem without a value is formatted without one", () => {
    expect(formatProblem({ key: "pooling", value: undefined, message: "broken." })).toBe("pooling: broken.");
  });
});

describe("the returned config", () => {
  const cfg = parseStackConfig({}, OPTS);

  test("is deeply frozen", () => {
    expect(Object.isFrozen(cfg)).toBe(true);
    for (const section of [cfg.postgres, cfg.pgbouncer, cfg.redis, cfg.probe]) expect(Object.isFrozen(section)).toBe(true);
  });

  test("refuses a change", () => {
    expect(() => {
      (cfg.pgbouncer as { defaultPoolSize: number }).defaultPoolSize = 1;
    }).toThrow(TypeError);
  });

  test("keeps a configured 0 as 0 rather than the default", () => {
    const zeros = accepted({
      postgres: { headroomConnections: 0, superuserReservedConnections: 0, statementTimeout: "0s", idleInTransactionSessionTimeout: "0s" },
      pgbouncer: { clientIdleTimeout: "0s", minPoolSize: 0, reservePoolSize: 0, maxPreparedStatements: 0, queryTimeout: "0s" },
      redis: { timeout: "0s", tcpKeepalive: "0s" },
    });
    expect(zeros.postgres).toMatchObject({ headroomConnections: 0, superuserReservedConnections: 0, statementTimeout: 0, idleInTransactionSessionTimeout: 0 });
    expect(zeros.pgbouncer).toMatchObject({ clientIdleTimeout: 0, minPoolSize: 0, reservePoolSize: 0, maxPreparedStatements: 0, queryTimeout: 0 });
    expect(zeros.redis).toMatchObject({ timeout: 0, tcpKeepalive: 0 });
  });

  test("does not share objects with the raw input", () => {
    const raw = { pgbouncer: { defaultPoolSize: 30 } };
    accepted(raw);
    expect(Object.isFrozen(raw.pgbouncer)).toBe(false);
  });
});

describe("rawFromStackYaml", () => {
  test("takes only the pooling namespace's keys, without the prefix", () => {
    const raw = rawFromStackYaml(
      "config:\n  aws:region: eu-west-1\n  other:pgbouncer:\n    defaultPoolSize: 1\n  poolingx:namespace: x\n  pooling:namespace: p\n  pooling:pgbouncer:\n    defaultPoolSize: 30\n",
      "test",
    );
    expect(raw).toEqual({ namespace: "p", pgbouncer: { defaultPoolSize: 30 } });
  });

  test("a file without config is an empty config", () => {
    expect(rawFromStackYaml("", "test")).toEqual({});
    expect(rawFromStackYaml("encryptionsalt: abc\n", "test")).toEqual({});
  });

  test("invalid YAML is a ConfigError naming the stack", () => {
    expect(() => rawFromStackYaml("config:\n  pooling:pgbouncer: [1, 2\n", "test")).toThrow(ConfigError);
    expect(() => rawFromStackYaml("config:\n  pooling:pgbouncer: [1, 2\n", "test")).toThrow(/^Stack "test" has 1 config problem; nothing was rendered:\n {2}- pooling: the stack file is not valid YAML: /);
  });

  test("a duplicate key is a ConfigError", () => {
    const text = "config:\n  pooling:pgbouncer:\n    defaultPoolSize: 10\n    defaultPoolSize: 20\n";
    expect(() => rawFromStackYaml(text, "test")).toThrow(ConfigError);
    expect(() => rawFromStackYaml(text, "test")).toThrow(/the stack file is not valid YAML: .*[Mm]ap keys must be unique/s);
  });

  test("a config that is not a mapping is a ConfigError", () => {
    expect(() => rawFromStackYaml("config:\n  - pooling:namespace\n", "test")).toThrow(
      'Stack "test" has 1 config problem; nothing was rendered:\n  - pooling: the stack file\'s `config:` must be a mapping of keys to values.',
    );
  });

  test("a stack file that cannot be read is a ConfigError naming the file", () => {
    expect(() => loadStackFile("/nonexistent/Pulumi.gone.yaml")).toThrow(
      'Stack "gone" has 1 config problem; nothing was rendered:\n  - pooling: cannot read the stack file /nonexistent/Pulumi.gone.yaml: ENOENT',
    );
  });
});

describe("the tls section", () => {
  test("is on by default, with leaves living 90 days and renewed 30 days before their end", () => {
    expect(accepted({}).tls).toEqual({ enabled: true, lifetime: 90 * 86_400_000, renewBefore: 30 * 86_400_000, minVersion: "TLSv1.2", clientCertificates: false });
  });

  test("takes lifetimes in days, beyond PostgreSQL's timeout cap", () => {
    expect(accepted({ tls: { lifetime: "365d", renewBefore: "60d" } }).tls.lifetime).toBe(365 * 86_400_000);
  });

  test("refuses a renewal margin above half the lifetime, naming both keys and what fixes it", () => {
    expect(problemOf({ tls: { lifetime: "10d", renewBefore: "6d" } })).toBe(
      'pooling:tls.renewBefore = "6d": renewBefore 6d is more than half of pooling:tls.lifetime 10d: a new certificate would be due for renewal almost as soon as it is made. Set it to at most 5d or raise pooling:tls.lifetime to at least 12d.',
    );
  });

  test("refuses client certificates without TLS", () => {
    expect(problemOf({ tls: { enabled: false, clientCertificates: true } })).toBe(
      "pooling:tls.clientCertificates = true: client certificates are a TLS feature, but pooling:tls.enabled is false. Set pooling:tls.enabled to true or this key to false.",
    );
  });

  test("refuses a TLS version no server supports", () => {
    expect(problemOf({ tls: { minVersion: "TLSv1.1" } })).toMatch(/^pooling:tls\.minVersion = "TLSv1\.1": /);
  });
});

describe("TLS and the PgBouncer version", () => {
  test("refuses TLS on a PgBouncer older than 1.7", () => {
    expect(problemsOf({ pgbouncer: { version: "1.6" } }).map(formatProblem)).toContain('pooling:pgbouncer.version = "1.6": PgBouncer 1.6 has no TLS settings (they came in 1.7), but pooling:tls.enabled is true. Raise the version.');
  });
});
