import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { CONFIG_DOC, ERRORS_DOC, PERFORMANCE_JSON, RELIABILITY_JSON, generatedDocs, withErrors, withReference, withSummaries } from "../../infra/cli/docs.ts";
import { errorSources } from "../../infra/cli/errors-page.ts";
import { markers } from "../../infra/cli/generated.ts";
import { poolSizeSummary } from "../../infra/cli/readme-pools.ts";
import { PROJECT_DIR } from "../../local/stack.ts";

const read = (f: string) => readFileSync(join(PROJECT_DIR, f), "utf8");

describe("generated documentation", () => {
  it.each([...generatedDocs(read, PROJECT_DIR)])("%s matches what npm run docs generates (run it after changing the schema or a results JSON)", (file, expected) => {
    expect(read(file)).toBe(expected);
  });

  it("the check fails on a config reference with a stale row", () => {
    const current = read(CONFIG_DOC);
    const stale = current.replace(/^\| `pooling:pgbouncer\.defaultPoolSize` \|.*$/m, "| `pooling:pgbouncer.defaultPoolSize` | integer 1..10000 | `99` | stale. |");
    expect(stale).not.toBe(current);
    expect(withReference(stale)).toBe(current);
  });

  it("the check fails when an error class is added and the errors page is not regenerated", () => {
    const current = read(ERRORS_DOC);
    const added: Array<[string, string]> = [...errorSources(PROJECT_DIR), ["lib/new.ts", 'import { PoolingError } from "./errors.ts";\n/** A new failure. */\nexport class NewError extends PoolingError {\n  readonly code = "POOLING_NEW";\n}\n']];
    const regenerated = withErrors(current, added);
    expect(regenerated).not.toBe(current);
    expect(regenerated).toContain("| `POOLING_NEW` | 1 | `NewError` (lib/new.ts) | A new failure. |");
  });

  // One figure each summary shows, changed in its JSON only.
  const doubled: Array<[string, (data: Record<string, unknown>) => void]> = [
    [PERFORMANCE_JSON, (d) => (d.scenarios as Array<{ name: string; tps: number }>).filter((s) => s.name === "stack").forEach((s) => (s.tps *= 2))],
    [RELIABILITY_JSON, (d) => (d.faults as Array<{ requests: number }>).forEach((f) => (f.requests *= 2))],
  ];
  it.each(doubled)("the check fails when README's summary disagrees with %s", (json, change) => {
    const readme = read("README.md");
    const data = JSON.parse(read(json)) as Record<string, unknown>;
    change(data);
    expect(withSummaries(readme, (f) => (f === json ? JSON.stringify(data) : read(f)))).not.toBe(readme);
  });

  it("README's pool-size figures follow the stated inputs: the dev stack's postgres.cpu and replicas, and named core counts", () => {
    const dev = read("Pulumi.dev.yaml");
    const threeCores = dev.replace(/^(\s+cpu:) "1"$/m, '$1 "3"');
    expect(threeCores).not.toBe(dev);
    const summary = poolSizeSummary(threeCores);
    // ⌈4 × 3 ÷ 2 replicas⌉ = 6, min round(2.4) = 2, reserve round(1.2) = 1; locally one PgBouncer: 2 cores ⌈8⌉, 8 cores ⌈32⌉.
    expect(summary).toContain("(`postgres.cpu` 3, `pgbouncer.replicas` 2) gets 6 (min 2, reserve 1) per replica");
    expect(summary).toContain("2 cores: 8 (min 3, reserve 2)");
    expect(summary).toContain("8 cores: 32 (min 13, reserve 6)");
  });

  it("README's pool-size paragraph quotes no derived figure when the dev stack sets the pool itself", () => {
    const set = read("Pulumi.dev.yaml").replace(/^(\s+)replicas: 2$/m, "$1replicas: 2\n$1defaultPoolSize: 12");
    const summary = poolSizeSummary(set);
    expect(summary).toContain("The dev stack sets `pooling:pgbouncer.defaultPoolSize` 12 itself.");
    expect(summary).not.toMatch(/cores: \d/);
  });

  it.each(["performance", "reliability"])("README has the %s summary between its markers, not empty", (name) => {
    const readme = read("README.md");
    const { start, end } = markers(name);
    const body = readme.slice(readme.indexOf(start) + start.length, readme.indexOf(end)).trim();
    expect(body.split("\n").length, body).toBeGreaterThan(5);
  });

  it("Pulumi.yaml declares a default for every section, so no section is required on a stack", () => {
    const config = (parse(read("Pulumi.yaml")) as { config: Record<string, { default?: unknown; type?: string }> }).config;
    for (const section of ["postgres", "pgbouncer", "redis", "probe"]) {
      expect(config[section]?.default, section).toEqual({});
      expect(config[section]?.type, section).toBeUndefined();
    }
  });
});
