/**
 * `npm run docs`: rewrites every generated part of the docs. docs/config.md's reference table and
 * Pulumi.yaml's `config:` block come from the schema; docs/errors.md's table from the error classes; the README's performance and reliability
 * summaries from the JSON the bench and the fault run wrote; its alert table from the dev stack's rules; its pool-size rule from infra/config/pools.ts with figures for stated inputs. A test regenerates them all in memory and
 * fails when a file on disk differs.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { configReferenceMarkdown, pulumiProjectConfig } from "../config/docs.ts";
import { projectDirOf } from "../config/file.ts";
import { isMain, runCli } from "../../lib/cli.ts";
import { errorSources, errorsMarkdown } from "./errors-page.ts";
import { withGenerated } from "./generated.ts";
import { performanceSummary } from "./readme-performance.ts";
import { alertsSummary } from "./readme-alerts.ts";
import { poolSizeSummary } from "./readme-pools.ts";
import { reliabilitySummary } from "./readme-reliability.ts";
import { securitySummary } from "./readme-security.ts";

export const CONFIG_DOC = "docs/config.md";
export const ERRORS_DOC = "docs/errors.md";
export const PERFORMANCE_JSON = "docs/performance/results.json";
export const RELIABILITY_JSON = "docs/reliability.json";

export function withReference(configDoc: string): string {
  return withGenerated(configDoc, CONFIG_DOC, "config", configReferenceMarkdown());
}

export function withProjectConfig(pulumiYaml: string): string {
  const doc = parseDocument(pulumiYaml);
  doc.set("config", doc.createNode(pulumiProjectConfig()));
  return doc.toString({ lineWidth: 0 });
}

/** The README with its summaries regenerated from the results JSON files `read` returns. */
export function withSummaries(readme: string, read: (file: string) => string): string {
  const withPerformance = withGenerated(readme, "README.md", "performance", performanceSummary(read(PERFORMANCE_JSON)));
  const withPools = withGenerated(withPerformance, "README.md", "pool-size", poolSizeSummary(read("Pulumi.dev.yaml")));
  const withAlerts = withGenerated(withPools, "README.md", "alerts", alertsSummary(read("Pulumi.dev.yaml")));
  const withReliability = withGenerated(withAlerts, "README.md", "reliability", reliabilitySummary(read(RELIABILITY_JSON)));
  return withGenerated(withReliability, "README.md", "security", securitySummary(read(PERFORMANCE_JSON), read(RELIABILITY_JSON)));
}

/** docs/errors.md with its table of codes made from `sources` (errorSources: the project's files). */
export function withErrors(errorsDoc: string, sources: ReadonlyArray<readonly [string, string]>): string {
  return withGenerated(errorsDoc, ERRORS_DOC, "errors", errorsMarkdown(sources));
}

/** Every generated file as it should be: path relative to the project → content. */
export function generatedDocs(read: (file: string) => string, projectDir: string): Map<string, string> {
  return new Map([
    [CONFIG_DOC, withReference(read(CONFIG_DOC))],
    [ERRORS_DOC, withErrors(read(ERRORS_DOC), errorSources(projectDir))],
    ["README.md", withSummaries(read("README.md"), read)],
    ["Pulumi.yaml", withProjectConfig(read("Pulumi.yaml"))],
  ]);
}

if (isMain(import.meta.url)) {
  runCli(() => {
    const dir = projectDirOf(import.meta.url, 2);
    const docs = generatedDocs((file) => readFileSync(join(dir, file), "utf8"), dir);
    for (const [file, text] of docs) writeFileSync(join(dir, file), text);
    process.stderr.write(`regenerated ${[...docs.keys()].join(", ")}\n`);
  });
}
