import { describe, expect, it } from "vitest";
import { configReferenceMarkdown } from "../../infra/config/docs.ts";
import { rawFromStackYaml } from "../../infra/config/file.ts";
import { checkStackConfig, ConfigError, formatProblem, parseDuration, parseStackConfig } from "../../infra/config/index.ts";

function problemsOf(raw: unknown, versions?: { pgbouncer?: string }): string[] {
  const r = checkStackConfig(raw, { stack: "dev", versions });
  return r.ok ? [] : r.problems.map(formatProblem);
}

describe("hostile or odd stack values found in review", () => {
  it("refuses a value written as a mapping with a toString key instead of crashing", () => {
    const raw = rawFromStackYaml("config:\n  pooling:pgbouncer:\n    queryTimeout: {toString: 1}\n", "dev");
    expect(() => parseStackConfig(raw, { stack: "dev" })).toThrow(ConfigError);
    expect(problemsOf(raw)[0]).toMatch(/^pooling:pgbouncer\.queryTimeout = \{"toString":1\}: expected a number with a unit/);
  });

  it("refuses a size given as an object without a prototype instead of crashing", () => {
    expect(() => parseStackConfig({ redis: { memory: Object.create(null) } }, { stack: "dev" })).toThrow(ConfigError);
  });

  it("reports a recursive YAML alias as a ConfigError", () => {
    const raw = rawFromStackYaml("config:\n  pooling:pgbouncer: &a\n    extra: *a\n", "dev");
    expect(() => parseStackConfig(raw, { stack: "dev" })).toThrow(ConfigError);
  });

  it("does not suggest an invalid fix for a negative unitless duration", () => {
    const [p] = problemsOf({ pgbouncer: { queryTimeout: -1 } });
    expect(p).toMatch(/^pooling:pgbouncer\.queryTimeout = -1: expected/);
    expect(p).not.toContain('write "-1s"');
  });

  it("refuses a Redis maxMemory of 0, which Redis reads as no limit", () => {
    expect(problemsOf({ redis: { maxMemory: "0B" } })).toEqual(['pooling:redis.maxMemory = "0B": at least 1Mi, the smallest the server accepts']);
  });

  it("reports a section that is not a mapping as such, also with a version override", () => {
    expect(problemsOf({ pgbouncer: "big" }, { pgbouncer: "1.24" })).toEqual(['pooling:pgbouncer = "big": Invalid input: expected object, received string']);
  });

  it("refuses a null section with or without a version override", () => {
    expect(problemsOf({ pgbouncer: null })).not.toEqual([]);
    expect(problemsOf({ pgbouncer: null }, { pgbouncer: "1.24" })).not.toEqual([]);
  });

  it("refuses a statement timeout above PostgreSQL's limit of 2147483647 ms", () => {
    expect(problemsOf({ postgres: { statementTimeout: "30d" }, pgbouncer: { queryTimeout: "0s" } })).toEqual([
      'pooling:postgres.statementTimeout = "30d": at most 2147483647ms (about 24 days), the largest timeout PostgreSQL takes; use 0s for "never"',
    ]);
  });

  it("does not parse a duration too large to be exact", () => {
    expect(parseDuration("1000000000000000000000s")).toBeUndefined();
  });

  it("keeps a key with a newline from adding a line to the ConfigError message", () => {
    let err: ConfigError | undefined;
    try {
      parseStackConfig({ pgbouncer: { "x\n  - pooling:fake = 1: forged": 1 } }, { stack: "dev" });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err?.message.split("\n")).toHaveLength(2);
  });

  it("renders every row of the config reference with exactly four cells", () => {
    for (const row of configReferenceMarkdown().split("\n")) expect(row.split(/(?<!\\)\|/).length - 2, row).toBe(4);
  });

  it("refuses work_mem below PostgreSQL's minimum of 64kB", () => {
    expect(problemsOf({ postgres: { workMem: "1kB" } })).toEqual(['pooling:postgres.workMem = "1kB": at least 64Ki, the smallest the server accepts']);
  });

  it("refuses an app user that collides with the superuser or a PgBouncer console user", () => {
    expect(problemsOf({ postgres: { user: "postgres" } })).toEqual(['pooling:postgres.user = "postgres": postgres is the superuser; the app needs a role of its own.']);
    expect(problemsOf({ pgbouncer: { statsUser: "app" } })).toEqual([
      'pooling:pgbouncer.statsUser = "app": the same name as pooling:postgres.user; each user needs its own name and password.',
    ]);
  });
});
