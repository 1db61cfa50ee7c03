/**
 * The Pulumi CLI and the Node.js language host, at @pulumi/pulumi's version.
 *
 * `go install github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@vX` is refused because pkg/v3's go.mod has
 * `replace` directives, so each is built from a wrapper module of our own that requires the published
 * modules and repeats their non-local replaces (pkg/v3 and sdk/v3 go.mod at v3.248.0:
 * `github.com/atotto/clipboard => github.com/tgummerer/clipboard …`). sdk/v3's own
 * `golang.org/x/text => v0.3.8` is not repeated: Pulumi's release builds start from pkg/v3 and the
 * language host's module, whose go.mod files do not have it, and a dependency's replaces do not apply.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { sourceHash, type Recipe, type RecipeContext } from "../recipe.ts";

/** Pulumi's version ldflag: without it `pulumi version` prints nothing (sdk/v3 go/common/version). */
export const versionFlag = (version: string): string => `-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${version}`;

const REPLACES = [
  "replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e",
];

/** A wrapper module's go.mod: its own name, the modules it needs at `version`, Pulumi's replaces. */
export function wrapperGoMod(module: string, requires: readonly string[], version: string): string {
  const lines = [`module ${module}`, "", "go 1.25.11", "", "require (", ...requires.map((r) => `\t${r} v${version}`), ")", "", ...REPLACES, ""];
  return lines.join("\n");
}

async function tidyAndBuild(ctx: RecipeContext, dir: string, pkg: string, out: string, version: string, what: string): Promise<void> {
  await ctx.go(["mod", "tidy"], { cwd: dir, step: `downloading modules for ${what}` });
  const total = await ctx.countPackages(dir, [pkg]);
  await ctx.go(["build", "-v", "-trimpath", "-ldflags", `-s -w ${versionFlag(version)}`, "-o", out, pkg], { cwd: dir, step: `compiling ${what}`, total });
}

export function pulumiCli(version: string): Recipe {
  return {
    name: "pulumi",
    version: `v${version}`,
    binaries: ["pulumi"],
    async build(ctx) {
      ctx.write("go.mod", wrapperGoMod("pooling.local/toolchain/pulumi", ["github.com/pulumi/pulumi/pkg/v3", "github.com/pulumi/pulumi/sdk/v3"], version));
      // A blank import keeps the CLI's package in the module graph for `go mod tidy`.
      ctx.write("tools.go", '//go:build tools\n\npackage tools\n\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n');
      await tidyAndBuild(ctx, ctx.workDir, "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi", `${ctx.binDir}/pulumi`, version, "the Pulumi CLI");
    },
  };
}

/** The language host's source: toolchain/langhost/main.go (why it is the project's own: its comment). */
export const LANGHOST_SOURCE = fileURLToPath(new URL("../langhost/main.go", import.meta.url));

export function languageHost(version: string, source = LANGHOST_SOURCE): Recipe {
  const main = readFileSync(source, "utf8");
  return {
    name: "pulumi-language-nodejs",
    // The source is ours, so a change to it must rebuild: its hash is part of the version.
    version: `v${version}+${sourceHash(main)}`,
    binaries: ["pulumi-language-nodejs"],
    async build(ctx) {
      ctx.write("go.mod", wrapperGoMod("pooling.local/toolchain/langhost", ["github.com/pulumi/pulumi/sdk/v3"], version));
      ctx.write("main.go", main);
      await tidyAndBuild(ctx, ctx.workDir, ".", `${ctx.binDir}/pulumi-language-nodejs`, version, "the Node.js language host");
    },
  };
}
