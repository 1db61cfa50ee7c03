/** What the toolchain builds follows the lockfile; where it keeps it; how its environment is printed. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exportLines, findPulumi, toolchainEnv } from "../../toolchain/index.ts";
import { toolchainPaths } from "../../toolchain/paths.ts";
import { EXPORTERS, lockedVersions, LockfileError } from "../../toolchain/versions.ts";
import { EXPORTER_IMAGES } from "../../infra/config/images.ts";
import { checkPin, LIB_PQ_OF_EXPORTER, PQ_CONSOLE_SOURCE, requiredLibPq, StandinVersionError } from "../../toolchain/recipes/standins.ts";
import { PROJECT_DIR } from "../k8s/fixtures.ts";

const lock = (packages: Record<string, { version?: string }>) => JSON.stringify({ lockfileVersion: 3, packages });

describe("the toolchain's versions", () => {
  it("are the versions npm installed, read from the lockfile", () => {
    expect(lockedVersions(lock({ "node_modules/@pulumi/pulumi": { version: "3.1.2" }, "node_modules/@pulumi/kubernetes": { version: "4.5.6" } }))).toEqual({ pulumi: "3.1.2", kubernetesProvider: "4.5.6" });
  });

  it("refuse a lockfile without a followed package, naming it, and one that is not JSON", () => {
    expect(() => lockedVersions(lock({ "node_modules/@pulumi/pulumi": { version: "3.1.2" } }))).toThrow(/package-lock\.json has no @pulumi\/kubernetes/);
    expect(() => lockedVersions("{")).toThrow(LockfileError);
  });
});

describe("the exporters the toolchain builds", () => {
  it("are at the versions the Kubernetes manifests deploy", () => {
    expect(EXPORTER_IMAGES.pgbouncer.split(":").at(-1)).toBe(`v${EXPORTERS.pgbouncerExporter}`);
  });
});

describe("pq-console, the stand-in for pgbouncer_exporter's driver", () => {
  it("pins the lib/pq the deployed exporter links", () => {
    const goMod = readFileSync(join(PQ_CONSOLE_SOURCE, "go.mod"), "utf8");
    expect(requiredLibPq(goMod)).toBe(LIB_PQ_OF_EXPORTER[EXPORTERS.pgbouncerExporter]);
    expect(() => checkPin(EXPORTERS.pgbouncerExporter, goMod)).not.toThrow();
  });

  it("refuses to build a go.mod pinning another lib/pq, and an exporter version with no known lib/pq", () => {
    expect(() => checkPin("0.10.2", "module m\n\nrequire github.com/lib/pq v1.10.8\n")).toThrow(/requires github\.com\/lib\/pq v1\.10\.8, but pgbouncer_exporter 0\.10\.2 links v1\.10\.9/);
    expect(() => checkPin("0.99.0", "module m\n")).toThrow(StandinVersionError);
  });

  it("reads the lib/pq version from a require line or block", () => {
    expect(requiredLibPq("require (\n\tgithub.com/lib/pq v1.10.9\n)\n")).toBe("v1.10.9");
    expect(requiredLibPq("require github.com/lib/pq v1.2.3 // indirect\n")).toBe("v1.2.3");
    expect(requiredLibPq("require github.com/lib/pqx v1.2.3\n")).toBeUndefined();
  });
});

describe("the toolchain's place and environment", () => {
  it("lives in POOLING_TOOLCHAIN_DIR, else XDG_CACHE_HOME, else ~/.cache", () => {
    expect(toolchainPaths({ POOLING_TOOLCHAIN_DIR: "/t" })).toEqual({ root: "/t", bin: "/t/bin", path: "/t/path", work: "/t/work", pulumiHome: "/t/pulumi-home" });
    expect(toolchainPaths({ XDG_CACHE_HOME: "/x" }).root).toBe("/x/pooling-toolchain");
    expect(toolchainPaths({}).root).toMatch(/\/\.cache\/pooling-toolchain$/);
  });

  it("prints export lines a shell evaluates back to the same values, quotes included", () => {
    const vars = { ...toolchainEnv(toolchainPaths({ POOLING_TOOLCHAIN_DIR: "/t" }), { PATH: "/usr/bin" }), ODD: "it's $HOME" };
    const r = spawnSync("sh", ["-c", `${exportLines(vars)}\nprintf '%s\\n' "$PATH" "$PULUMI_HOME" "$PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION" "$ODD"`], { encoding: "utf8" });
    expect(r.stdout.split("\n").slice(0, 4)).toEqual(["/t/path:/usr/bin", "/t/pulumi-home", "true", "it's $HOME"]);
  });

  it("prefers a pulumi on PATH, and says what to do when neither it nor the toolchain's is there", () => {
    expect(findPulumi(PROJECT_DIR, { POOLING_TOOLCHAIN_DIR: "/nonexistent" }, () => true)).toEqual({ bin: "pulumi", source: "path", env: {} });
    expect(() => findPulumi(PROJECT_DIR, { POOLING_TOOLCHAIN_DIR: "/nonexistent" }, () => false)).toThrow(/no `pulumi` on PATH, and the toolchain in \/nonexistent lacks pulumi, pulumi-language-nodejs.*npm run toolchain/);
  });
});
