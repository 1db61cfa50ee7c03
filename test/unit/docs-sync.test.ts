import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { withProjectConfig, withReference } from "../../infra/cli/docs.ts";
import { PROJECT_DIR } from "../../local/stack.ts";

const read = (f: string) => readFileSync(join(PROJECT_DIR, f), "utf8");

describe("generated documentation", () => {
  it("README's config reference matches the schema (run npm run docs after changing it)", () => {
    const readme = read("README.md");
    expect(withReference(readme)).toBe(readme);
  });

  it("Pulumi.yaml's config block matches the schema (run npm run docs after changing it)", () => {
    const pulumiYaml = read("Pulumi.yaml");
    expect(withProjectConfig(pulumiYaml)).toBe(pulumiYaml);
  });

  it("Pulumi.yaml declares a default for every section, so no section is required on a stack", () => {
    const config = (parse(read("Pulumi.yaml")) as { config: Record<string, { default?: unknown; type?: string }> }).config;
    for (const section of ["postgres", "pgbouncer", "redis", "probe"]) {
      expect(config[section]?.default, section).toEqual({});
      expect(config[section]?.type, section).toBeUndefined();
    }
  });
});
