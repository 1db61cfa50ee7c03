/**
 * What one binary of the toolchain is and how it is built. A recipe prepares a wrapper module of its own
 * under the cache (never in the repository), fetches through the Go module proxy only, and leaves its
 * binaries in `binDir`. The builder (`toolchain/build.ts`) runs recipes in turn, skips one whose binaries
 * and stamp are already there for the same version, and times each.
 */
import { createHash } from "node:crypto";

export interface GoRunOptions {
  /** The folder `go` runs in (a wrapper module under `workDir`). */
  readonly cwd: string;
  /** Extra environment for this run (CGO_ENABLED, GOFLAGS, ...); the builder's Go environment is kept. */
  readonly env?: Readonly<Record<string, string>>;
  /** What the user sees while it runs: "downloading modules", "compiling kube-apiserver". */
  readonly step: string;
  /** For `go build -v`: how many packages the build may compile at most, so progress reads "n of up to N". */
  readonly total?: number;
}

export interface RecipeContext {
  /** A folder of this recipe's own under the cache, kept between runs: wrapper modules, unpacked sources. */
  readonly workDir: string;
  /** Where finished binaries go (shared by every recipe). */
  readonly binDir: string;
  /** Runs `go ARGS`; resolves with its stdout; rejects with a ToolchainBuildError naming the step on a non-zero exit. */
  go(args: readonly string[], opts: GoRunOptions): Promise<string>;
  /** Writes `content` to `relPath` under `workDir`, creating folders. */
  write(relPath: string, content: string): void;
  /** One line of progress for the user. */
  progress(message: string): void;
  /** How many non-standard-library packages building `pkgs` in `cwd` involves (`go list -deps`), for `total`. */
  countPackages(cwd: string, pkgs: readonly string[], env?: Readonly<Record<string, string>>): Promise<number>;
}

export interface Recipe {
  /** Short name shown in progress and used for the work folder: "pulumi", "kube-apiserver". */
  readonly name: string;
  /** The version built, as its project tags it: "v3.248.0". */
  readonly version: string;
  /** File names this recipe leaves in `binDir`. */
  readonly binaries: readonly string[];
  /**
   * Set for a binary the project can do without: what goes in its place. A failed build of such a recipe
   * is reported (status `unavailable`) and the run goes on; any other failed build stops it.
   */
  readonly optional?: string;
  build(ctx: RecipeContext): Promise<void>;
}

/** A short hash of a recipe's own source: part of its version, so a change to the source rebuilds it. */
export function sourceHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}
