/**
 * The toolchain's builder with the real `go`, on a recipe small enough to build in seconds: a wrapper
 * module with one main package. What a rerun skips, what a version change rebuilds, how a failure reads.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildRecipes, readStamp, ToolchainBuildError } from "../../toolchain/build.ts";
import { toolchainPaths } from "../../toolchain/paths.ts";
import type { Recipe } from "../../toolchain/recipe.ts";

const hasGo = spawnSync("go", ["version"]).error === undefined;

function hello(version: string, source = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n'): Recipe {
  return {
    name: "hello",
    version,
    binaries: ["hello"],
    async build(ctx) {
      ctx.write("go.mod", "module example.test/hello\n\ngo 1.22\n");
      ctx.write("main.go", source);
      await ctx.go(["build", "-o", join(ctx.binDir, "hello"), "."], { cwd: ctx.workDir, step: "compiling hello" });
    },
  };
}

describe.skipIf(!hasGo)("buildRecipes", () => {
  const root = mkdtempSync(join(tmpdir(), "pooling-toolchain-"));
  const paths = toolchainPaths({ POOLING_TOOLCHAIN_DIR: root });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);

  it("builds a recipe, stamps it with its version and wall time, and the binary runs", async () => {
    const [result] = await buildRecipes([hello("v1")], { paths, log });
    expect(result).toMatchObject({ name: "hello", version: "v1", status: "built" });
    expect(result!.bytes).toBeGreaterThan(0);
    expect(readStamp(paths, hello("v1"))).toMatchObject({ version: "v1", binaries: ["hello"], seconds: result!.seconds });
    expect(spawnSync(join(paths.bin, "hello"), { encoding: "utf8" }).stdout).toBe("hello\n");
    expect(lines).toEqual(expect.arrayContaining(["[1/1] hello v1: building", "[1/1] hello v1: compiling hello", expect.stringMatching(/^\[1\/1\] hello v1: built in \d+s$/)]));
  });

  it("skips a recipe whose stamp and binaries are there for the same version", async () => {
    const [result] = await buildRecipes([hello("v1", "this would not compile")], { paths, log });
    expect(result).toMatchObject({ status: "cached", version: "v1" });
  });

  it("rebuilds when the version changes, and when a binary is gone", async () => {
    expect((await buildRecipes([hello("v2")], { paths, log }))[0]!.status).toBe("built");
    rmSync(join(paths.bin, "hello"));
    expect((await buildRecipes([hello("v2")], { paths, log }))[0]!.status).toBe("built");
    expect(existsSync(join(paths.bin, "hello"))).toBe(true);
  });

  it("fails with the recipe, the step and go's own last lines, and stamps nothing", async () => {
    const broken = hello("v3", "package main\n\nfunc main() { undefinedThing() }\n");
    const err = await buildRecipes([broken], { paths, log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolchainBuildError);
    expect(err).toMatchObject({ code: "POOLING_TOOLCHAIN_BUILD", recipe: "hello", step: "compiling hello" });
    expect((err as Error).message).toMatch(/undefined: undefinedThing/);
    expect(JSON.parse(readFileSync(join(paths.work, "hello", ".stamp.json"), "utf8"))).toMatchObject({ version: "v2" });
  });

  it("reports an optional recipe whose build fails with go's reason, stamps nothing, and builds the rest", async () => {
    const optional: Recipe = { ...hello("v1", "package main\n\nfunc main() { undefinedThing() }\n"), name: "hello-optional", binaries: ["hello-optional"], optional: "the project does without" };
    const results = await buildRecipes([optional, hello("v4")], { paths, log });
    expect(results.map((r) => [r.name, r.status])).toEqual([
      ["hello-optional", "unavailable"],
      ["hello", "built"],
    ]);
    expect(results[0]!.reason).toMatch(/undefinedThing/);
    expect(readStamp(paths, optional)).toBeUndefined();
    expect(lines).toContainEqual(expect.stringMatching(/^\[1\/2\] hello-optional v1: not built, and optional \(the project does without\): .*undefinedThing/));
  });

  it("fails when a recipe finishes without the binaries it promised", async () => {
    const liar: Recipe = { name: "liar", version: "v1", binaries: ["nothing-here"], build: async () => undefined };
    await expect(buildRecipes([liar], { paths, log })).rejects.toThrow(/the build finished without nothing-here/);
  });
});
