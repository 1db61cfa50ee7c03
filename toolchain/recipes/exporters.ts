/**
 * PgBouncer's Prometheus exporter, which Debian does not package: `npm start -- --monitoring` scrapes it
 * when built, and falls back to the probe's own SHOW POOLS figures when not (local/monitoring.ts).
 *
 * prometheus-community/pgbouncer_exporter at the tag the Kubernetes sidecar runs
 * (infra/config/images.ts; test/toolchain/versions.test.ts keeps the two equal). At v0.10.2 (decd013) its
 * module root is package main and its go.mod (go 1.22) has no replace directives, so `go install
 * module@version` builds it as published, without a wrapper module. The version ldflag is the one its
 * .promu.yml sets (`-X github.com/prometheus/common/version.Version={{.Version}}`), so
 * `pgbouncer_exporter --version` names the release.
 *
 * Optional: a module proxy may refuse the module (the one this project's build machines use answers 403
 * for every version of it, though it serves the exporter's dependencies), and the rest of the toolchain
 * does not need it.
 */
import type { Recipe } from "../recipe.ts";

export const PGBOUNCER_EXPORTER_MODULE = "github.com/prometheus-community/pgbouncer_exporter";

export function pgbouncerExporter(version: string): Recipe {
  return {
    name: "pgbouncer_exporter",
    version: `v${version}`,
    binaries: ["pgbouncer_exporter"],
    optional: "npm start -- --monitoring reads PgBouncer through the probe instead",
    async build(ctx) {
      // Outside any module: `go install` with a version resolves the module on its own (GOBIN: where to).
      await ctx.go(["install", "-trimpath", "-ldflags", `-s -w -X github.com/prometheus/common/version.Version=${version}`, `${PGBOUNCER_EXPORTER_MODULE}@v${version}`], {
        cwd: ctx.workDir,
        env: { GOBIN: ctx.binDir },
        step: "downloading and compiling pgbouncer_exporter",
      });
    },
  };
}
