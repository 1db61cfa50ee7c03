/**
 * The resource provider the program uses, pulumi-resource-kubernetes, built from its Go source at
 * @pulumi/kubernetes's version, through the module proxy only. (pulumi-random, which the program used
 * before, is not served at all: every request for github.com/pulumi/pulumi-random/provider/v4, its version
 * list and the pseudo-version of the sdk/v4.21.2 tag's commit included, is answered 403; docs/engine.md.)
 *
 * It does not build with `go install MODULE/cmd/...@V`: the provider module has a local `replace`
 * (provider/go.mod: `sdk/v4 => ../sdk`), and the binary `//go:embed`s schema-embed.json, a file
 * `go generate` makes from the committed schema.json and that .gitignore keeps out of the module zip. So
 * the recipe copies the module out of the module cache into its work folder, lays the `replace` target
 * beside it, runs upstream's own generate.go, and builds there, as upstream's Makefile does.
 *
 * The repository does not tag its provider module (its tags are `vX.Y.Z` and `sdk/vX.Y.Z`), so the proxy
 * only has pseudo-versions of it, named by commit: which one is a release is a fact looked up once (the
 * tag's commit) and kept in the table below, not something that can be derived from the npm version.
 */
import { chmodSync, cpSync, existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PoolingError } from "../../lib/errors.ts";
import type { Recipe, RecipeContext } from "../recipe.ts";

/** No source for this provider version is known to be served by the module proxy. */
export class ProviderSourceError extends PoolingError {
  readonly code = "POOLING_TOOLCHAIN_PROVIDER_SOURCE";
}

/** One provider release as the module proxy has it. */
interface ProviderSource {
  /** The provider module's pseudo-version at the release tag's commit. */
  readonly provider: string;
  /** Kubernetes only: the sdk/v4 version that stands in for `../sdk` (same sdk/go.mod as that commit). */
  readonly sdk?: string;
}

/**
 * pulumi-kubernetes releases the proxy serves. v4.25.0: the repository's tag v4.25.0 is commit f47bc2d6f199,
 * served as provider/v4 v4.0.0-20260115033456-f47bc2d6f199 (the only provider/v4 version in the proxy's
 * list). Its `../sdk` is taken from sdk/v4 v4.25.0 (tag sdk/v4.25.0, commit 144dd813d, two days later):
 * sdk/go.mod is the same at both commits, and only a version string in
 * sdk/go/kubernetes/utilities/pulumiUtilities.go differs.
 *
 * Not served, checked when this was written: sdk/v4 v4.34.2 and v4.34.1 (403 "This module version is not
 * available", though other projects require v4.34.2), and provider/v4 at the commits tried (those of the
 * v4.32.0 and sdk/v4.32.0 tags). The proxy seems to hold only versions fetched through it before, and
 * v4.34.2's commit is not known here, so a newer release can only be added once its pseudo-version is served.
 */
const KUBERNETES_SOURCES: Readonly<Record<string, ProviderSource>> = {
  "4.25.0": { provider: "v4.0.0-20260115033456-f47bc2d6f199", sdk: "v4.25.0" },
};

const KUBERNETES_MODULE = "github.com/pulumi/pulumi-kubernetes/provider/v4";
const KUBERNETES_SDK_MODULE = "github.com/pulumi/pulumi-kubernetes/sdk/v4";

/** Where the sources are laid out under workDir: `provider/` and its `replace` targets beside or in it. */
const SRC = "src";

/**
 * Both Makefiles build the provider with cgo off. generate.go runs with the same settings and flags, so the
 * packages it compiles (pulumi/pkg's codegen/schema and what it imports) come out of the build cache for the
 * provider instead of being compiled twice.
 */
const GO_ENV = { CGO_ENABLED: "0" } as const;
const BUILD_FLAGS = ["-trimpath"] as const;

export function kubernetesProvider(version: string): Recipe {
  return {
    name: "pulumi-resource-kubernetes",
    version: `v${version}`,
    binaries: ["pulumi-resource-kubernetes"],
    async build(ctx) {
      const source = sourceFor("kubernetes", KUBERNETES_SOURCES, version);
      const dirs = await downloadModules(ctx, "pulumi-resource-kubernetes", [
        `${KUBERNETES_MODULE}@${source.provider}`,
        `${KUBERNETES_SDK_MODULE}@${source.sdk ?? `v${version}`}`,
      ]);
      // provider/go.mod: `replace github.com/pulumi/pulumi-kubernetes/sdk/v4 => ../sdk`, so the sdk goes beside it.
      const providerDir = layOut(ctx, { provider: dirs[0]!, sdk: dirs[1]! });
      await downloadDependencies(ctx, providerDir, "pulumi-resource-kubernetes");
      await generateSchema(ctx, providerDir, "pulumi-resource-kubernetes", version);
      // The Makefile at v4.25.0 (k8sprovider): `CGO_ENABLED=0 go build -ldflags "-X
      // github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$(VERSION_GENERIC)"`, unstripped.
      await compile(ctx, providerDir, "pulumi-resource-kubernetes", `-X ${KUBERNETES_MODULE}/pkg/version.Version=${version}`);
    },
  };
}

function sourceFor(provider: string, table: Readonly<Record<string, ProviderSource>>, version: string): ProviderSource {
  const source = table[version];
  if (source) return source;
  const known = Object.keys(table);
  throw new ProviderSourceError(
    `the ${provider} provider ${version} cannot be built here: the Go module proxy serves no source for it ` +
      `(see the table in toolchain/recipes/providers.ts for what was checked). ` +
      (known.length > 0 ? `Versions it can build: ${known.join(", ")}.` : "It serves no version of this provider at all."),
  );
}

/** `go mod download -json` for each module, one at a time so a refusal names the module; their cache folders. */
async function downloadModules(ctx: RecipeContext, what: string, modules: readonly string[]): Promise<string[]> {
  const dirs: string[] = [];
  for (const mod of modules) {
    // workDir has no go.mod, so this runs outside any module and fetches exactly MODULE@VERSION.
    const out = await ctx.go(["mod", "download", "-json", mod], { cwd: ctx.workDir, step: `downloading ${mod} for ${what}` });
    const info = JSON.parse(out) as { Dir?: string; Error?: string };
    if (!info.Dir) throw new ProviderSourceError(`go mod download ${mod} gave no folder${info.Error ? `: ${info.Error}` : ""}`);
    dirs.push(info.Dir);
  }
  return dirs;
}

/**
 * Fetches every module the binary's packages come from, so that network time shows as downloading rather
 * than inside the next steps. `-e`: schema-embed.json is not generated yet, and its `//go:embed` error must
 * not stop the listing.
 */
async function downloadDependencies(ctx: RecipeContext, providerDir: string, binary: string): Promise<void> {
  await ctx.go(["list", "-e", "-deps", "-f", "{{.ImportPath}}", `./cmd/${binary}`], { cwd: providerDir, env: GO_ENV, step: `downloading the modules ${binary} imports` });
}

/**
 * Copies each module folder to workDir/src/NAME, afresh on every build so a rerun never builds over a
 * half-generated tree; returns the provider's folder. The module cache is read-only, so the copies are made
 * writable (generate.go writes beside main.go, and the next build removes them).
 */
function layOut(ctx: RecipeContext, modules: Readonly<Record<string, string>>): string {
  for (const [name, from] of Object.entries(modules)) {
    const to = join(ctx.workDir, SRC, name);
    removeTree(to);
    cpSync(from, to, { recursive: true });
    makeWritable(to);
  }
  return join(ctx.workDir, SRC, "provider");
}

function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  makeWritable(dir); // a copy interrupted before makeWritable still has the cache's read-only folders
  rmSync(dir, { recursive: true, force: true });
}

function makeWritable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    chmodSync(join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644);
  }
}

/**
 * schema-embed.json (and kubernetes's terraform-mapping-embed.json) from the committed schema.json, by
 * upstream's own cmd/BINARY/generate.go (`//go:generate go run ./generate.go` in main.go), which stamps
 * $VERSION into the schema: the engine reads the provider's version from it.
 */
async function generateSchema(ctx: RecipeContext, providerDir: string, binary: string, version: string): Promise<void> {
  await ctx.go(["run", ...BUILD_FLAGS, "./generate.go"], {
    cwd: join(providerDir, "cmd", binary),
    env: { ...GO_ENV, VERSION: version },
    step: `generating the schema of ${binary}`,
  });
}

async function compile(ctx: RecipeContext, providerDir: string, binary: string, ldflags: string): Promise<void> {
  await ctx.go(["build", "-v", ...BUILD_FLAGS, "-ldflags", ldflags, "-o", join(ctx.binDir, binary), `./cmd/${binary}`], {
    cwd: providerDir,
    env: GO_ENV,
    step: `compiling ${binary}`,
  });
}
