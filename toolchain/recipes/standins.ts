/**
 * Programs of the project's own that stand in for software the module proxy will not serve. pq-console
 * (toolchain/standins/pq-console/) is pgbouncer_exporter's database side: lib/pq at the version the
 * exporter's go.mod pins, opening the exporter's connection string and running its collector's statements
 * (test/tls/pgbouncer-exporter-driver.test.ts). lib/pq has no dependencies, so the build takes seconds.
 *
 * Not optional, unlike the exporter itself (toolchain/recipes/exporters.ts): the module proxy serves
 * lib/pq, and a suite that needs the binary fails rather than skips under .ci/run.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PoolingError } from "../../lib/errors.ts";
import { sourceHash, type Recipe } from "../recipe.ts";

/**
 * The lib/pq each pgbouncer_exporter release links: its go.mod at the release tag. v0.10.2 (decd013):
 * `github.com/lib/pq v1.10.9`. A new exporter version needs its row before the toolchain builds anything.
 */
export const LIB_PQ_OF_EXPORTER: Readonly<Record<string, string>> = { "0.10.2": "v1.10.9" };

export const LIB_PQ_MODULE = "github.com/lib/pq";

/** pq-console's module: go.mod (pinning lib/pq), go.sum, main.go. */
export const PQ_CONSOLE_SOURCE = fileURLToPath(new URL("../standins/pq-console/", import.meta.url));
const PQ_CONSOLE_FILES = ["go.mod", "go.sum", "main.go"] as const;

/** pq-console's go.mod does not pin the lib/pq the deployed exporter links, or no row says which that is. */
export class StandinVersionError extends PoolingError {
  readonly code = "POOLING_TOOLCHAIN_STANDIN_VERSION";
}

/** The lib/pq version a go.mod's text requires, or undefined. */
export function requiredLibPq(goMod: string): string | undefined {
  return new RegExp(`^\\s*(?:require\\s+)?${LIB_PQ_MODULE.replaceAll(".", "\\.")}\\s+(v\\S+)`, "m").exec(goMod)?.[1];
}

export function pqConsole(exporterVersion: string, sourceDir = PQ_CONSOLE_SOURCE): Recipe {
  const files = Object.fromEntries(PQ_CONSOLE_FILES.map((f) => [f, readFileSync(join(sourceDir, f), "utf8")]));
  const wanted = LIB_PQ_OF_EXPORTER[exporterVersion];
  return {
    name: "pq-console",
    // The source is ours, so a change to it must rebuild: its hash is part of the version.
    version: `${wanted ?? "unknown"}+${sourceHash(PQ_CONSOLE_FILES.map((f) => files[f]!).join("\0"))}`,
    binaries: ["pq-console"],
    async build(ctx) {
      checkPin(exporterVersion, files["go.mod"]!, join(sourceDir, "go.mod"));
      for (const f of PQ_CONSOLE_FILES) ctx.write(f, files[f]!);
      // go.sum is committed: -mod=readonly (the default) fails rather than fetch a module it does not list.
      // cgo off: a static binary that links nothing of the machine's C libraries.
      await ctx.go(["build", "-trimpath", "-ldflags", "-s -w", "-o", join(ctx.binDir, "pq-console"), "."], {
        cwd: ctx.workDir,
        env: { CGO_ENABLED: "0" },
        step: `downloading ${LIB_PQ_MODULE} ${wanted} and compiling pq-console`,
      });
    },
  };
}

/** Throws unless go.mod requires the lib/pq that pgbouncer_exporter `exporterVersion` links. */
export function checkPin(exporterVersion: string, goMod: string, file = "go.mod"): void {
  const wanted = LIB_PQ_OF_EXPORTER[exporterVersion];
  if (wanted === undefined)
    throw new StandinVersionError(`no lib/pq version is known for pgbouncer_exporter ${exporterVersion}: read its go.mod at the tag v${exporterVersion} and add it to LIB_PQ_OF_EXPORTER in toolchain/recipes/standins.ts`);
  const pinned = requiredLibPq(goMod);
  if (pinned !== wanted)
    throw new StandinVersionError(`${file} requires ${LIB_PQ_MODULE} ${pinned ?? "(nothing)"}, but pgbouncer_exporter ${exporterVersion} links ${wanted}: run \`go get ${LIB_PQ_MODULE}@${wanted}\` in its folder`);
}
