/**
 * The Kubernetes control plane (kube-apiserver, kube-controller-manager, kube-scheduler) and etcd, built
 * from source with the local Go and the Go module proxy only.
 *
 * Why a wrapper module: `go install k8s.io/kubernetes/cmd/kube-apiserver@v1.37.2` is refused, because the
 * tag's go.mod replaces every `k8s.io/*` staging module with `./staging/src/k8s.io/...` and requires them at
 * `v0.0.0` (k8s.io/kubernetes v1.37.2 go.mod, require and replace blocks). Replace directives only count in
 * the main module, so a module of our own that requires k8s.io/kubernetes at the tag and replaces each
 * staging module with its published twin `v0.X.Y` builds the very same commands.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PoolingError } from "../../lib/errors.ts";
import type { Recipe, RecipeContext } from "../recipe.ts";

/**
 * The newest k8s.io/kubernetes the module proxy serves whose go.mod says `go 1.26.0`, which the machine's
 * Go 1.26.8 satisfies without downloading a toolchain. Checked with `go list -m -json k8s.io/kubernetes@V`
 * (its GoVersion): v1.37.2 and v1.36.3 say 1.26.0, v1.35.4 says 1.25.0, v1.34.4 says 1.24.0.
 */
export const KUBERNETES_RELEASE = "v1.37.2";

/**
 * The newest etcd 3.6 patch the module proxy serves (go.etcd.io/etcd/server/v3 v3.6.16, `go 1.26.0`).
 * Kubernetes v1.37.2 itself tests against etcd 3.7.0 (hack/lib/etcd.sh ETCD_VERSION, build/dependencies.yaml)
 * but supports external etcd from 3.5.24 on (cmd/kubeadm/app/constants/constants.go, MinExternalEtcdVersion),
 * so a 3.6 server is within its range. `etcd(...)` builds a 3.7 release just as well.
 */
export const ETCD_VERSION = "v3.6.16";

/** A release this recipe cannot build: a malformed version, or one that needs a newer Go than this one. */
export class ReleaseNotBuildableError extends PoolingError {
  readonly code = "POOLING_TOOLCHAIN_RELEASE";
}

/** The Go environment every step here runs with. */
const GO_ENV = {
  // Both upstream builds link these binaries statically with cgo off: k8s.io/kubernetes hack/lib/golang.sh
  // (KUBE_STATIC_BINARIES, built with CGO_ENABLED=0) and etcd's scripts/build_lib.sh (CGO_ENABLED=0).
  CGO_ENABLED: "0",
  // Never fetch another Go: a module that needs a newer one must fail here, not download a toolchain.
  GOTOOLCHAIN: "local",
} as const;

const CONTROL_PLANE_COMMANDS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;

// ---------------------------------------------------------------------------------------------------------
// Kubernetes
// ---------------------------------------------------------------------------------------------------------

interface KubernetesVersion {
  /** "v1.37.2", as the tag spells it. */
  readonly tag: string;
  readonly major: string;
  readonly minor: string;
  /** The published version of every staging module cut from this release: "v0.37.2". */
  readonly stagingVersion: string;
}

function parseKubernetesRelease(release: string): KubernetesVersion {
  const m = /^v?(1)\.(\d+)\.(\d+)$/.exec(release.trim());
  if (!m) throw new ReleaseNotBuildableError(`Kubernetes release "${release}": expected a release like v1.37.2 (no pre-releases)`);
  const [, major, minor, patch] = m as unknown as [string, string, string, string];
  return { tag: `v${major}.${minor}.${patch}`, major, minor, stagingVersion: `v0.${minor}.${patch}` };
}

/** What the tag's own go.mod says that the wrapper module has to repeat or map. */
interface UpstreamGoMod {
  /** The `go` line: "1.26.0". */
  readonly goVersion: string;
  /** `godebug` lines, copied so the binaries get the runtime defaults upstream builds get. */
  readonly godebug: readonly string[];
  /** Modules both required and replaced with `./staging/src/...`: the ones to map to `v0.X.Y`. */
  readonly stagingModules: readonly string[];
  /** Any other replace, copied as it is (there are none in v1.37.2, but a patch release may pin one). */
  readonly otherReplaces: readonly string[];
}

/** The lines of a go.mod block (`replace ( ... )`) or its one-line form (`replace a => b`). */
function goModDirective(goMod: string, keyword: string): string[] {
  const lines: string[] = [];
  let inBlock = false;
  for (const raw of goMod.split("\n")) {
    const line = raw.replace(/\/\/.*$/, "").trim();
    if (inBlock) {
      if (line === ")") inBlock = false;
      else if (line) lines.push(line);
    } else if (line === `${keyword} (`) inBlock = true;
    else if (line.startsWith(`${keyword} `)) lines.push(line.slice(keyword.length + 1).trim());
  }
  return lines;
}

function parseUpstreamGoMod(goMod: string, tag: string): UpstreamGoMod {
  const goVersion = goModGoVersion(goMod, `k8s.io/kubernetes ${tag}`);
  const required = new Set(goModDirective(goMod, "require").map((line) => line.split(/\s+/)[0]));
  const stagingModules: string[] = [];
  const otherReplaces: string[] = [];
  for (const line of goModDirective(goMod, "replace")) {
    const [from, to] = line.split("=>").map((side) => side.trim());
    if (!from || !to) continue;
    if (to.startsWith("./staging/src/")) {
      // Replaced but not required (k8s.io/sample-cli-plugin, k8s.io/sample-controller in v1.37.2) means
      // nothing the commands import; those are not even published at v0.37.2, so leave them out.
      if (required.has(from)) stagingModules.push(from);
    } else if (to.startsWith(".") || to.startsWith("/")) {
      throw new ReleaseNotBuildableError(`k8s.io/kubernetes ${tag}: its go.mod replaces ${from} with the local folder ${to}, which no published module stands for`);
    } else {
      otherReplaces.push(`${from} => ${to}`);
    }
  }
  if (stagingModules.length === 0) throw new ReleaseNotBuildableError(`k8s.io/kubernetes ${tag}: its go.mod replaces no staging module; this recipe's approach does not apply`);
  return { goVersion, godebug: goModDirective(goMod, "godebug"), stagingModules, otherReplaces };
}

/** Numeric comparison of Go versions: "1.26.0" vs "1.26.8"; "go1.26.8" is accepted too ("1.27rc1" as 1.27). */
function compareGoVersions(a: string, b: string): number {
  const number = (part: string) => {
    const n = Number.parseInt(part, 10);
    return Number.isNaN(n) ? 0 : n;
  };
  const parts = (v: string) => v.replace(/^go/, "").split(".").map(number);
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Fails before anything is downloaded in bulk when the release needs a newer Go than the machine's. */
async function requireGoAtLeast(ctx: RecipeContext, needed: string, what: string): Promise<void> {
  const local = (await ctx.go(["env", "GOVERSION"], { cwd: ctx.workDir, env: GO_ENV, step: "checking the Go version" })).trim();
  if (compareGoVersions(needed, local) > 0) {
    throw new ReleaseNotBuildableError(`${what} needs Go ${needed} (its go.mod); this machine has ${local}. Pick an older release.`);
  }
}

/**
 * Fetches one module version's go.mod through the proxy (checked against the checksum database; the
 * source zip is left for `go mod tidy`) and returns its text. Run in `workDir` itself, which holds no go.mod, so the query does not depend on the
 * wrapper module's state from an earlier run.
 */
async function downloadGoMod(ctx: RecipeContext, module: string, version: string): Promise<string> {
  mkdirSync(ctx.workDir, { recursive: true });
  const out = await ctx.go(["list", "-m", "-json", `${module}@${version}`], {
    cwd: ctx.workDir,
    env: GO_ENV,
    step: `reading the go.mod of ${module} ${version}`,
  });
  const info = JSON.parse(out) as { GoMod?: string };
  if (!info.GoMod) throw new ReleaseNotBuildableError(`${module} ${version}: the module proxy gave no go.mod`);
  return readFileSync(info.GoMod, "utf8");
}

/** The `go` line of a go.mod: "1.26.0". */
function goModGoVersion(goMod: string, what: string): string {
  const goVersion = goModDirective(goMod, "go")[0];
  if (!goVersion) throw new ReleaseNotBuildableError(`${what}: its go.mod has no go line`);
  return goVersion;
}

/**
 * The wrapper's go.mod. The commands are listed as `tool`s (Go 1.24+): that keeps their packages and
 * dependencies in the module graph through `go mod tidy` without a tools.go and without copying their
 * main packages. `go` and `godebug` repeat the tag's, since the main module's go.mod decides the
 * binaries' GODEBUG defaults.
 */
function kubernetesWrapperGoMod(k8s: KubernetesVersion, upstream: UpstreamGoMod): string {
  const staging = upstream.stagingModules.map((mod) => `\t${mod} => ${mod} ${k8s.stagingVersion}`);
  const other = upstream.otherReplaces.map((line) => `\t${line}`);
  return [
    "// Generated by toolchain/recipes/kubernetes.ts: builds the control plane of k8s.io/kubernetes " + k8s.tag + ".",
    "module pooling.local/toolchain/kubernetes",
    "",
    `go ${upstream.goVersion}`,
    ...upstream.godebug.map((line) => `godebug ${line}`),
    "",
    `require k8s.io/kubernetes ${k8s.tag}`,
    "",
    "tool (",
    ...CONTROL_PLANE_COMMANDS.map((cmd) => `\tk8s.io/kubernetes/cmd/${cmd}`),
    ")",
    "",
    "// Each staging module the tag's go.mod replaces with ./staging/src/..., at its published version.",
    "replace (",
    ...staging,
    ...other,
    ")",
    "",
  ].join("\n");
}

/**
 * The version stamp upstream's hack/lib/version.sh (kube::version::ldflags) writes into both
 * k8s.io/component-base/version and k8s.io/client-go/pkg/version (their base.go declares gitVersion,
 * gitMajor, gitMinor, gitCommit, gitTreeState, buildDate). The module zip carries no commit id and the
 * proxy's .info names none, so gitCommit is set to "" rather than left at the "$Format:%H$" placeholder.
 * The tree is clean: the sources are the release's module zips, verified against the checksum database.
 */
function kubernetesVersionLdflags(k8s: KubernetesVersion, buildDate: string): string[] {
  const values: Record<string, string> = {
    gitVersion: k8s.tag,
    gitMajor: k8s.major,
    gitMinor: k8s.minor,
    gitCommit: "",
    gitTreeState: "clean",
    buildDate,
  };
  const packages = ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"];
  return packages.flatMap((pkg) => Object.entries(values).map(([key, value]) => `-X=${pkg}.${key}=${value}`));
}

/**
 * `go build` flags as upstream's release builds use them (k8s.io/kubernetes hack/lib/golang.sh,
 * kube::golang::build_binaries without DBG): -trimpath, `-s -w`, and the tags selinux, notest and
 * grpcnotrace (the last lets the linker drop golang.org/x/net/trace).
 */
function kubernetesBuildFlags(k8s: KubernetesVersion, buildDate: string): string[] {
  return ["-trimpath", "-tags=selinux,notest,grpcnotrace", `-ldflags=-s -w ${kubernetesVersionLdflags(k8s, buildDate).join(" ")}`];
}

/** kube-apiserver, kube-controller-manager and kube-scheduler of one Kubernetes release. */
export function kubernetesControlPlane(release: string): Recipe {
  const k8s = parseKubernetesRelease(release);
  return {
    name: "kubernetes",
    version: k8s.tag,
    binaries: CONTROL_PLANE_COMMANDS,
    async build(ctx: RecipeContext): Promise<void> {
      const upstream = parseUpstreamGoMod(await downloadGoMod(ctx, "k8s.io/kubernetes", k8s.tag), k8s.tag);
      await requireGoAtLeast(ctx, upstream.goVersion, `k8s.io/kubernetes ${k8s.tag}`);

      const moduleDir = join(ctx.workDir, "module");
      ctx.write("module/go.mod", kubernetesWrapperGoMod(k8s, upstream));
      ctx.progress(`wrapper module: k8s.io/kubernetes ${k8s.tag}, ${upstream.stagingModules.length} staging modules at ${k8s.stagingVersion}`);
      await ctx.go(["mod", "tidy"], { cwd: moduleDir, env: GO_ENV, step: "resolving modules" });
      await ctx.go(["mod", "download"], { cwd: moduleDir, env: GO_ENV, step: "downloading modules" });

      const flags = kubernetesBuildFlags(k8s, buildDateNow());
      for (const cmd of CONTROL_PLANE_COMMANDS) {
        await compile(ctx, moduleDir, `k8s.io/kubernetes/cmd/${cmd}`, flags, cmd);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// etcd
// ---------------------------------------------------------------------------------------------------------

function parseEtcdVersion(version: string): string {
  const m = /^v?(3\.\d+\.\d+)$/.exec(version.trim());
  if (!m) throw new ReleaseNotBuildableError(`etcd version "${version}": expected a release like v3.6.16`);
  return `v${m[1]}`;
}

/**
 * The wrapper's main: exactly what go.etcd.io/etcd/server/v3's own main.go (v3.6.16) does. That module
 * is installable as it is, but a main of our own keeps the etcd build the same shape as the others.
 */
const ETCD_MAIN = `// Generated by toolchain/recipes/kubernetes.ts: the etcd server, as go.etcd.io/etcd/server/v3's main.go.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
`;

/**
 * The `go` line repeats the server module's (go.etcd.io/etcd/server/v3 v3.6.16 go.mod: `go 1.26.0`). Its
 * `toolchain go1.26.10` line is not copied: it only binds etcd's own builds, and copying it would make
 * this Go 1.26.8 want to download that toolchain.
 */
function etcdWrapperGoMod(tag: string, goVersion: string): string {
  return [
    "// Generated by toolchain/recipes/kubernetes.ts: the etcd server " + tag + ".",
    "module pooling.local/toolchain/etcd",
    "",
    `go ${goVersion}`,
    "",
    `require go.etcd.io/etcd/server/v3 ${tag}`,
    "",
  ].join("\n");
}

/**
 * etcd's scripts/build_lib.sh (etcd_build) builds with `-trimpath -installsuffix=cgo` and stamps
 * go.etcd.io/etcd/api/v3/version.GitSHA with `git rev-parse --short HEAD`, or "GitNotFound" without git,
 * which is our case: the module zip has no commit id. The version itself is a constant in that package
 * (api/v3 version/version.go), so `etcd --version` is right without any stamp.
 */
const ETCD_BUILD_FLAGS = ["-trimpath", "-installsuffix=cgo", "-ldflags=-X=go.etcd.io/etcd/api/v3/version.GitSHA=GitNotFound"];

/** The etcd server, from go.etcd.io/etcd/server/v3 at `version` (a 3.x release). */
export function etcd(version: string): Recipe {
  const tag = parseEtcdVersion(version);
  return {
    name: "etcd",
    version: tag,
    binaries: ["etcd"],
    async build(ctx: RecipeContext): Promise<void> {
      const serverModule = "go.etcd.io/etcd/server/v3";
      const goVersion = goModGoVersion(await downloadGoMod(ctx, serverModule, tag), `${serverModule} ${tag}`);
      await requireGoAtLeast(ctx, goVersion, `${serverModule} ${tag}`);

      const moduleDir = join(ctx.workDir, "module");
      ctx.write("module/go.mod", etcdWrapperGoMod(tag, goVersion));
      ctx.write("module/main.go", ETCD_MAIN);
      await ctx.go(["mod", "tidy"], { cwd: moduleDir, env: GO_ENV, step: "resolving modules" });
      await ctx.go(["mod", "download"], { cwd: moduleDir, env: GO_ENV, step: "downloading modules" });
      await compile(ctx, moduleDir, ".", ETCD_BUILD_FLAGS, "etcd");
    },
  };
}

/**
 * `go build -v` of one main package into binDir/`binary`, with the package count first so progress reads
 * "n of up to N". Later commands of the same release compile fewer: the build cache has the shared ones.
 */
async function compile(ctx: RecipeContext, moduleDir: string, pkg: string, flags: readonly string[], binary: string): Promise<void> {
  const total = await ctx.countPackages(moduleDir, [pkg], GO_ENV);
  await ctx.go(["build", "-v", ...flags, "-o", join(ctx.binDir, binary), pkg], { cwd: moduleDir, env: GO_ENV, step: `compiling ${binary}`, total });
}

/** buildDate as upstream writes it: `date -u +'%Y-%m-%dT%H:%M:%SZ'`. */
function buildDateNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}
