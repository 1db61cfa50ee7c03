/**
 * Every alerting rule through the real `promtool test rules` (Debian's prometheus package): one step past
 * its threshold it fires with the labels and annotations the spec says, one step below it stays silent.
 * For the dev stack and for a stack with other pool sizes, and for both sources of PgBouncer figures,
 * so a threshold that does not follow the config fails here.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { stringify } from "yaml";
import { rawFromStackYaml } from "../../infra/config/file.ts";
import { parseStackConfig, type StackConfig } from "../../infra/config/index.ts";
import { alertSpecs, renderAlertRules, type PgbouncerFigures } from "../../infra/render/index.ts";
import { boundary, promtoolTestFile } from "./promtool.ts";

const DEV_RAW = rawFromStackYaml(readFileSync(fileURLToPath(new URL("../../Pulumi.dev.yaml", import.meta.url)), "utf8"), "dev") as Record<string, Record<string, unknown>>;
const DEV = parseStackConfig(DEV_RAW, { stack: "dev" });
/** Other pool sizes, limits and monitoring timings: every threshold differs from dev's. */
const OTHER = parseStackConfig(
  {
    ...DEV_RAW,
    postgres: { ...DEV_RAW.postgres, maxConnections: 120, cpu: "4" },
    pgbouncer: { ...DEV_RAW.pgbouncer, replicas: 3, maxClientConn: 500, queryWaitTimeout: "45s" },
    redis: { ...DEV_RAW.redis, maxClients: 300 },
    monitoring: { for: "1m", saturationFor: "3m", clientWait: "3s", limitShare: 0.9, evaluationInterval: "15s" },
  },
  { stack: "other" },
);

const dir = mkdtempSync(join(tmpdir(), "pooling-promtool-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function promtool(args: string[]): string {
  try {
    return execFileSync("promtool", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { code?: string; stdout?: string; stderr?: string };
    if (e.code === "ENOENT") throw new Error("promtool is not installed: apt-get install prometheus (bash .ci/run installs it)", { cause: err });
    throw new Error(`promtool ${args.join(" ")} failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`, { cause: err });
  }
}

describe.each([
  ["dev", DEV],
  ["other", OTHER],
] as Array<[string, StackConfig]>)("the %s stack's rules", (name, cfg) => {
  describe.each(["exporter", "probe"] as PgbouncerFigures[])("with PgBouncer figures from the %s", (figures) => {
    const rules = `${name}-${figures}.rules.yml`;
    const specs = alertSpecs(cfg, { pgbouncerFigures: figures });

    test("pass promtool check rules", () => {
      writeFileSync(join(dir, rules), renderAlertRules(cfg, { pgbouncerFigures: figures }));
      expect(promtool(["check", "rules", rules])).toMatch(/SUCCESS: \d+ rules found/);
    });

    test("each fire one step past their threshold and stay silent one step below (promtool test rules)", () => {
      writeFileSync(join(dir, rules), renderAlertRules(cfg, { pgbouncerFigures: figures }));
      const tests = `${name}-${figures}.test.yml`;
      writeFileSync(join(dir, tests), stringify(promtoolTestFile(rules, specs, { namespace: cfg.namespace, database: cfg.postgres.database }, cfg.monitoring.evaluationInterval, cfg.stack), { lineWidth: 0 }));
      expect(promtool(["test", "rules", tests])).toMatch(/SUCCESS/);
    });
  });
});

describe("thresholds follow the config", () => {
  const threshold = (cfg: StackConfig, alert: string) => alertSpecs(cfg, { pgbouncerFigures: "exporter" }).find((a) => a.alert === alert)!;

  test("pool saturation is judged against the resolved defaultPoolSize, derived ones included", () => {
    // dev leaves the pool unset: max(2, ⌈4 × 1 cpu ÷ 2 replicas⌉) = 2; other: ⌈4 × 4 ÷ 3⌉ = 6.
    expect([DEV.pgbouncer.defaultPoolSize, OTHER.pgbouncer.defaultPoolSize]).toEqual([2, 6]);
    expect(threshold(DEV, "PgBouncerPoolSaturated").threshold).toBe(2);
    expect(threshold(OTHER, "PgBouncerPoolSaturated").threshold).toBe(6);
  });

  test("PostgreSQL's alert fires above limitShare of maxConnections − reserved − headroom", () => {
    // dev: 0.8 × (200 − 3 − 10) = 149.6 → above 149; other: 0.9 × (120 − 3 − 10) = 96.3 → above 96.
    expect(boundary(threshold(DEV, "PostgresBackendsNearBudget")).fires).toBe(150);
    expect(boundary(threshold(OTHER, "PostgresBackendsNearBudget")).fires).toBe(97);
  });

  test("every summary names the stack key to change in its full dotted form", () => {
    for (const a of alertSpecs(OTHER, { pgbouncerFigures: "probe" })) expect(a.summary).toContain(a.key);
    expect(threshold(OTHER, "PgBouncerPoolSaturated").summary).toContain("pooling:pgbouncer.defaultPoolSize (now 6)");
  });

  test("no query_wait_timeout, no alert about nearing it", () => {
    const never = parseStackConfig({ ...DEV_RAW, pgbouncer: { ...DEV_RAW.pgbouncer, queryWaitTimeout: "0s" } }, { stack: "never" });
    expect(alertSpecs(never, { pgbouncerFigures: "exporter" }).map((a) => a.alert)).not.toContain("PgBouncerWaitNearTimeout");
  });
});
